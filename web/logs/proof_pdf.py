"""Proof of broadcast as a PDF (bilingual headings, Vietnamese diacritics via DejaVu Sans)."""

from __future__ import annotations

from broadcaster.queries.proof import Airing, Proof
from web.campaigns.labels import category_label
from web.exports.pdf import Doc, Letterhead
from web.i18n import PLAYBACK_STATUS, PRIORITY, format_local, label, to_local
from web.logs.labels import OUTCOME_COLOUR, detail_text, outcome_text


def proof_pdf(p: Proof, prepared_by: str = "") -> bytes:
    """An official document: the national header under the owning unit, the announcement and
    its text, every targeted site's outcome, and blocks to sign and stamp."""
    head = Letterhead(issuer=p.unit, parent=p.parent_unit, day=to_local(p.generated_at).date())
    doc = Doc("XÁC NHẬN PHÁT THANH", letterhead=head)
    doc.para("(Proof of broadcast)")
    doc.heading(f"Thông báo / Announcement: {p.title}")
    doc.para(
        f"Thông báo số / No. {p.announcement_id} · "
        f"Lĩnh vực / Category: {category_label(p.category) if p.category else '—'} · "
        f"Mức ưu tiên / Priority: {label(PRIORITY, p.priority)} · "
        f"Chiến dịch / Campaign: {p.campaign or '—'}"
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
    doc.heading("Nội dung thông báo / Announcement text")
    for paragraph in p.body.split("\n\n"):
        if paragraph.strip():
            doc.para(paragraph.strip())
    doc.heading("Kết quả phát tại các điểm / Outcome at each site")
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
    doc.signatures(
        (["NGƯỜI LẬP", "(Ký, ghi rõ họ tên)"], prepared_by),
        (["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(Ký tên, đóng dấu)"], ""),
    )
    return doc.render()


def _airing(a: Airing) -> str:
    text = f"{format_local(a.scheduled_at)}: {PLAYBACK_STATUS.get(a.status, a.status)}"
    if a.started_at:
        text += f" ({format_local(a.started_at, '%H:%M:%S')}–"
        text += f"{format_local(a.finished_at, '%H:%M:%S')})"
    return text + (f" — {detail_text(a.detail)}" if a.detail else "")
