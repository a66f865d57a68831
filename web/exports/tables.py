"""Tabular exports: CSV streamed row by row, XLSX written in openpyxl's write-only mode.

Text that a spreadsheet would read as a formula (OWASP "CSV injection": a cell starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) is written with a leading ``'``, so it shows
as the text it is; in XLSX it is also typed as a string, never a formula. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

Cell = str | int | float | datetime | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """``text`` made inert for a spreadsheet: a leading ``'`` when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """CSV text in chunks, with a BOM so that Excel opens UTF-8 Vietnamese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow([neutralize(h) for h in header])
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else _text(v) for v in row])
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _text(v: Cell) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, str):
        return neutralize(v)
    return str(v)


SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
SHEET_MAX = 31


def sheet_title(text: str) -> str:
    """``text`` as an Excel sheet name: without []:*?/\\, at most 31 characters."""
    return " ".join(text.translate(SHEET_FORBIDDEN).split())[:SHEET_MAX].strip() or "Sheet"


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]) -> bytes:
    """An XLSX workbook with one sheet per (title, header, rows); datetimes must be naive."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=sheet_title(title))
        bold = []
        for h in header:
            c = _xlsx_text(ws, h, WriteOnlyCell)
            c.font = Font(bold=True)
            bold.append(c)
        ws.append(bold)
        for row in rows:
            ws.append([_xlsx_value(ws, v, WriteOnlyCell) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(ws: Any, v: Cell, cell_type: Any) -> Any:
    if isinstance(v, datetime):
        c = cell_type(ws, value=v.replace(tzinfo=None))
        c.number_format = "dd/mm/yyyy hh:mm:ss"
        return c
    if isinstance(v, str):
        return _xlsx_text(ws, v, cell_type)
    return v


def _xlsx_text(ws: Any, text: str, cell_type: Any) -> Any:
    """A string cell (openpyxl would make a formula of a string starting with "=")."""
    c = cell_type(ws, value=neutralize(text))
    c.data_type = "s"
    return c
