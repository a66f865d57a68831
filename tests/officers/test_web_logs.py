"""The playback-log page, its exports and proof of broadcast, through the Flask app."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

from openpyxl import load_workbook

from web.exports import pdf as pdf_module


def test_filtered_view_has_a_permalink_and_pages(officer, seeded_sqlite) -> None:
    page = officer.get("/logs/?site=dai-xa&per_page=25&sort=scheduled&dir=asc").get_data(
        as_text=True
    )
    assert "Đài truyền thanh xã" in page and "Cụm loa thôn 2" not in page.split("<table")[1]
    assert 'href="http://localhost/logs/?site=dai-xa&amp;sort=scheduled&amp;dir=asc"' not in page
    assert "/logs/?site=dai-xa&amp;dir=asc" in page  # the permalink keeps only what differs
    assert "3 lượt phát khớp" in page
    # sorted ascending by scheduled time: 22/11 07:30 before 23/11 00:30 local
    assert page.index("22/11/2026 07:30") < page.index("23/11/2026 00:30")
    assert "data-live-seconds" not in page  # a filtered view is not swapped under the reader
    one = officer.get("/logs/?per_page=25&status=finished").get_data(as_text=True)
    assert 'rel="next"' not in one


def test_pagination_links(officer) -> None:
    from broadcaster.queries.logs import LogFilter

    assert LogFilter(page=2).to_args() == {"page": "2"}
    first = officer.get("/logs/?per_page=25").get_data(as_text=True)
    assert "Trang 1 / 1" in first


def test_csv_export_is_the_filtered_view_in_local_time(officer, seeded_sqlite) -> None:
    r = officer.get("/logs/export.csv?status=finished&dir=asc")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][1] == "Điểm phát / Site"
    assert [r[12] for r in rows[1:]] == ["Đã phát"] * 3  # labels, not codes
    assert {r[7] for r in rows[1:]} <= {"Thông thường", "Ưu tiên", "Khẩn cấp"}
    assert rows[1][8] == "2026-11-22 07:30:00" and rows[1][11] == "120"
    assert "Tiêm phòng cho đàn gia súc" in rows[1][3]


def test_xlsx_export(officer, seeded_sqlite) -> None:
    r = officer.get("/logs/export.xlsx?site=cum-loa-t2")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][3] == "Thông báo / Announcement"
    assert sorted(v[12] for v in values[1:]) == ["Phát lỗi", "Đã lên lịch"]
    assert load_workbook(io.BytesIO(r.data)).sheetnames == ["Nhật ký phát"]
    assert {v[2] for v in values[1:]} == {"cum-loa-t2"}


def test_proof_of_broadcast_page(officer, seeded_sqlite) -> None:
    page = officer.get(f"/logs/proof/{seeded_sqlite.vaccine}").get_data(as_text=True)
    assert "Xác nhận phát thanh" in page
    assert 'id="coverage">33%' in page  # 1 of 3 targeted sites played fully
    assert "Phát một phần (bị ngắt)" in page
    assert "Không phát: phát lỗi" in page
    assert officer.get("/logs/proof/9999").status_code == 404


def pdf_text(pdf: Path) -> str:
    """The PDF's text by poppler's pdftotext (scripts/bootstrap.sh installs poppler-utils)."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_proof_pdf_has_vietnamese_text(officer, seeded_sqlite, tmp_path: Path) -> None:
    r = officer.get(f"/logs/proof/{seeded_sqlite.flood}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF") and b"DejaVuSans" in r.data
    pdf = tmp_path / "proof.pdf"
    pdf.write_bytes(r.data)
    text = pdf_text(pdf)
    assert "Cảnh báo lũ quét" in text and "Độ phủ" in text
    assert "Đài truyền thanh xã" in text
    # An official document: the national header under the owning unit, the announcement's
    # text, labels rather than codes, and blocks to sign and stamp.
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "ỦY BAN NHÂN DÂN" in text and "Số: ........../XN-UBND" in text
    assert "XÁC NHẬN PHÁT THANH" in text
    assert "bà con vùng trũng khẩn trương di dời" in text
    assert "Phòng chống thiên tai" in text and "thien-tai" not in text
    assert "NGƯỜI LẬP" in text and "(Ký tên, đóng dấu)" in text


def test_proof_pdf_without_the_font_is_a_clear_error(
    officer, seeded_sqlite, monkeypatch, tmp_path
) -> None:
    from reportlab.pdfbase import pdfmetrics

    monkeypatch.setattr(pdf_module, "FONT_DIR", tmp_path)
    monkeypatch.setattr(pdfmetrics, "getRegisteredFontNames", lambda: [])
    r = officer.get(f"/logs/proof/{seeded_sqlite.flood}.pdf")
    assert r.status_code == 503 and "fonts-dejavu-core" in r.get_data(as_text=True)


def test_log_requires_login(app) -> None:
    assert app.test_client().get("/logs/export.csv").status_code == 302


def test_a_submitted_form_redirects_to_the_short_permalink(officer) -> None:
    r = officer.get("/logs/?start=&site=dai-xa&status=&sort=scheduled&dir=desc&per_page=50")
    assert r.status_code == 302 and r.headers["Location"] == "/logs/?site=dai-xa"


def test_pages_by_cursor_and_search(officer, seeded_sqlite) -> None:
    """The pager's links carry the cursor (?after= / ?before=); the search box filters."""
    from broadcaster.queries.logs import LogFilter, page

    with seeded_sqlite.factory() as s:
        first = page(s, LogFilter(per_page=2), "Asia/Ho_Chi_Minh")
    assert first.next_after is not None
    html = officer.get(f"/logs/?after={first.next_after}").get_data(as_text=True)
    assert 'rel="first" href="/logs/"' in html and "Trang đầu" in html
    assert 'rel="prev" href="/logs/?before=' in html
    assert "Trang 1 /" not in html  # a cursor's page has no number
    export = re.search(r'href="(/logs/export\.csv[^"]*)"', html)
    assert export and "after" not in export[1]  # an export is the whole view, not one page
    found = officer.get("/logs/?q=lũ+quét").get_data(as_text=True)
    assert "3 lượt phát khớp" in found and 'value="lũ quét"' in found
    api = officer.get("/api/v1/logs?per_page=25&q=dai-xa").get_json()
    assert api["total"] == 3 and api["next_after"] is None and api["has_prev"] is False
