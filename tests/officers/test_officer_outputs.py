"""Officers' outputs (issue 13): every export carries labels, never stored codes, and names its
sheets in Vietnamese; the log shows what aired up to now, newest first, with its filters behind
one button; report rows carry their labels for a phone."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import timedelta
from pathlib import Path

from officers_seed import NOW, add_playback
from openpyxl import load_workbook

from broadcaster.models import (
    ANNOUNCEMENT_STATES,
    CAMPAIGN_CATEGORIES,
    PLAYBACK_STATES,
)
from broadcaster.roles import ROLES
from broadcaster.wire.plan import PRIORITIES
from web.exports.tables import sheet_title

PERIOD = "start=2026-11-22&end=2026-11-23"
CODES = {*PLAYBACK_STATES, *PRIORITIES, *CAMPAIGN_CATEGORIES, *ROLES, *ANNOUNCEMENT_STATES}
CODE_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, CODES))) + r")(?![\w-])")
REPORT_SHEETS = [
    "Tổng hợp",
    "Theo đơn vị trực thuộc",
    "Theo xã đã phát",
    "Theo thôn, khu vực",
    "Theo cụm loa",
    "Theo lĩnh vực",
    "Theo chiến dịch",
    "Tần suất chiến dịch",
    "Tần suất theo xã",
    "Độ phủ",
]


def codes_in(values: object) -> set[str]:
    """The stored codes among ``values`` (cells, or a text), as whole words."""
    texts = [values] if isinstance(values, str) else [v for v in values if isinstance(v, str)]  # type: ignore[attr-defined]
    return {m.group(1) for t in texts for m in CODE_WORD.finditer(t)}


def pdf_text(data: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "export.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_sheet_titles_keep_to_excels_rules() -> None:
    assert sheet_title("Tần suất: theo xã [2026/27]*?") == "Tần suất theo xã 2026 27"
    assert len(sheet_title("Theo đơn vị trực thuộc của huyện Đắk Hà, tỉnh Kon Tum")) == 31
    assert sheet_title("[]") == "Sheet"


def test_log_exports_carry_labels(officer, seeded_sqlite) -> None:
    """Category, priority and status columns: labels; the agents' words in the detail too."""
    rows = list(csv.reader(io.StringIO(officer.get("/logs/export.csv").get_data(as_text=True)[1:])))
    header, body = rows[0], rows[1:]
    labelled = [header.index(h) for h in header if h.split(" / ")[-1] in LABEL_COLUMNS]
    assert len(labelled) == 3 and len(body) == 7
    for row in body:
        assert not codes_in([row[i] for i in labelled]), row
    assert {row[labelled[0]] for row in body} == {"Y tế", "Phòng chống thiên tai"}
    wb = load_workbook(io.BytesIO(officer.get("/logs/export.xlsx").data))
    assert wb.sheetnames == ["Nhật ký phát"]
    values = list(wb.active.iter_rows(values_only=True))
    assert len(values) == 8
    for row in values[1:]:
        assert not codes_in([row[i] for i in labelled]), row


LABEL_COLUMNS = ("Category", "Priority", "Status")


def test_report_exports_name_their_sheets_in_vietnamese_and_carry_labels(
    officer, tmp_path: Path
) -> None:
    wb = load_workbook(io.BytesIO(officer.get(f"/reports/report.xlsx?{PERIOD}").data))
    assert wb.sheetnames == REPORT_SHEETS
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        # every text cell but the campaign's and announcement's own names (typed by people)
        assert not codes_in([v for row in rows for v in row]), ws.title
    categories = [row[0] for row in wb["Theo lĩnh vực"].iter_rows(values_only=True)][1:]
    assert categories and set(categories) <= {"Y tế", "Phòng chống thiên tai", "Chưa phân loại"}
    text = pdf_text(officer.get(f"/reports/report.pdf?{PERIOD}").data, tmp_path)
    assert "Phòng chống thiên tai" in text and not codes_in(text), codes_in(text)


def test_proof_page_and_pdf_carry_labels(officer, seeded_sqlite, tmp_path: Path) -> None:
    page = officer.get(f"/logs/proof/{seeded_sqlite.vaccine}").get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", page)
    assert "Y tế" in visible and "y-te" not in visible
    text = pdf_text(officer.get(f"/logs/proof/{seeded_sqlite.flood}.pdf").data, tmp_path)
    assert not codes_in(text), codes_in(text)


def test_the_agents_words_in_a_detail_are_translated(app) -> None:
    from web.logs.labels import detail_text

    with app.test_request_context("/?lang=vi"):
        assert detail_text("interrupted by emergency s9-1") == "bị ngắt bởi tin khẩn cấp s9-1"
        assert (
            detail_text("stopped by command: sai giờ before it played")
            == "dừng theo lệnh trước khi phát: sai giờ"
        )
        assert detail_text("agent stopping; exit 3") == "trình phát của cụm loa đang dừng; exit 3"
        assert detail_text("something else") == "something else"


def test_the_log_shows_what_aired_newest_first_and_upcoming_on_request(
    officer, seeded_sqlite
) -> None:
    with seeded_sqlite.factory() as s, s.begin():
        add_playback(s, "dai-xa", seeded_sqlite.vaccine, NOW + timedelta(days=2), "scheduled")
    page = officer.get("/logs/").get_data(as_text=True)
    table = page.split("<table")[1]
    assert "25/11/2026" not in table and "7 lượt phát khớp" in page
    times = re.findall(r"(\d\d/\d\d/2026 \d\d:\d\d)</td>", table)
    assert times == sorted(times, key=lambda t: (t[6:10], t[3:5], t[:2], t[11:]), reverse=True)
    assert 'id="show-upcoming"' in page and "data-live-seconds" in page
    upcoming = officer.get("/logs/?upcoming=1").get_data(as_text=True)
    assert "25/11/2026" in upcoming.split("<table")[1] and "8 lượt phát khớp" in upcoming
    assert 'name="upcoming" value="1" checked' in upcoming
    # the exports are the view: without upcoming airings unless asked for
    assert len(officer.get("/logs/export.csv").get_data(as_text=True).splitlines()) == 8
    assert len(officer.get("/logs/export.csv?upcoming=1").get_data(as_text=True).splitlines()) == 9


def test_filters_sit_behind_one_button(officer) -> None:
    for url, form in (
        ("/logs/?site=dai-xa", "log-filters"),
        (f"/reports/?{PERIOD}", "report-filters"),
    ):
        page = officer.get(url).get_data(as_text=True)
        details = page.split(f'<details class="filters" id="{form}">')[1].split("</details>")[0]
        assert "<summary" in details and "<form" in details and "Bộ lọc" in details
        assert page.count('<form method="get"') == 1
    assert '<span class="badge">1</span>' in officer.get("/logs/?site=dai-xa").get_data(
        as_text=True
    )


def test_every_report_cell_carries_its_label(officer) -> None:
    page = officer.get(f"/reports/?{PERIOD}").get_data(as_text=True)
    assert 'data-live-seconds="60"' in page
    cells = re.findall(r"<td[^>]*>", page)
    assert len(cells) > 40
    assert all("data-label=" in c for c in cells), [c for c in cells if "data-label" not in c]


def test_health_alerts_speak_vietnamese_and_cells_carry_labels(officer) -> None:
    page = officer.get("/health/").get_data(as_text=True)
    assert "mất kết nối 180 phút" in page and "offline for" not in page
    cells = re.findall(r"<td[^>]*>", page)
    assert cells and all("data-label=" in c for c in cells)
