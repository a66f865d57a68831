"""Proof of broadcast as a PDF (bilingual headings, Vietnamese diacritics via DejaVu Sans)."""

from __future__ import annotations

from broadcaster.queries.proof import Airing, Proof
from web.exports.pdf import Doc
from web.i18n import PLAYBACK_STATUS, format_local
from web.logs.labels import OUTCOME_COLOUR, outcome_text


def proof_pdf(p: Proof) -> bytes:
    doc = Doc(f"Xác nhận phát thanh / Proof of broadcast — {p.title}")
    doc.para(
        f"Thông báo số {p.announcement_id} · Lĩnh vực: {p.category or '—'} · "
        f"Mức ưu tiên: {p.priority} · Chiến dịch: {p.campaign or '—'}"
    )
    doc.para(f"Khu vực nhận tin / Target zones: {', '.join(p.zones) or '—'}")
    doc.para(
        f"Điểm phát được nhắm tới / Targeted sites: {p.targeted} · "
        f"phát trọn vẹn / fully: {p.count('full')} · "
        f"phát một phần / partly: {p.count('partial')} · "
        f"không phát / not played: {p.count('none')} · "
        f"Độ phủ / Coverage: {p.coverage:.0f}%"
    )
    doc.para(f"Lập lúc / Generated: {format_local(p.generated_at)}")
    rows, colours = [], []
    for s in p.sites:
        airings = "\n".join(_airing(a) for a in s.airings) or "—"
        rows.append([s.site_name, ", ".join(s.zones), outcome_text(s.outcome, s.reason), airings])
        colours.append(OUTCOME_COLOUR.get(s.outcome))
    doc.table(
        ["Điểm phát / Site", "Khu vực / Zones", "Kết quả / Outcome", "Các lượt phát / Airings"],
        rows,
        widths=[120, 90, 120, 180],
        colours=colours,
    )
    return doc.render()


def _airing(a: Airing) -> str:
    text = f"{format_local(a.scheduled_at)}: {PLAYBACK_STATUS.get(a.status, a.status)}"
    if a.started_at:
        text += f" ({format_local(a.started_at, '%H:%M:%S')}–"
        text += f"{format_local(a.finished_at, '%H:%M:%S')})"
    return text + (f" — {a.detail}" if a.detail else "")
