"""Reading an admin's lexicon file line by line, and importing it (all or nothing)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.lexicon_file import LineError, import_lexicon_file, read_lexicon_file
from audio.lexicon_store import load_lexicon
from broadcaster.db import transaction
from broadcaster.models import LexiconEntry

GOOD = [
    "BQLDA: ban quản lý dự án\nĐắk: đắc\n",
    'term,spoken\nBQLDA,ban quản lý dự án\nĐắk,"đắc"\n',
    "# comment\n\nBQLDA, ban quản lý  dự án\nĐắk,đắc\n",
    "\ufeffthuật ngữ,cách đọc\r\nBQLDA,ban quản lý dự án\r\nĐắk,đắc\r\n",
]


@pytest.mark.parametrize("text", GOOD)
def test_good_files_are_read(text: str) -> None:
    read = read_lexicon_file(text.encode())
    assert read.errors == []
    assert read.entries == {"BQLDA": "ban quản lý dự án", "Đắk": "đắc"}


def test_every_error_names_its_line() -> None:
    text = "# từ điển xã\nUBND: ủy ban nhân dân\n\nKDC: khu 2\nUBND: uỷ ban\nthôn bản: x\nX: [a]\n"
    read = read_lexicon_file(text)
    assert read.entries == {"UBND": "ủy ban nhân dân"}
    assert read.lines == {"UBND": 2}
    assert read.errors == [
        LineError(4, "digits", "KDC"),
        LineError(5, "duplicate", "UBND", other_line=2),
        LineError(6, "term", "thôn bản"),
        LineError(7, "no_spoken", "X"),
    ]


@pytest.mark.parametrize(
    ("data", "line", "code"),
    [
        (b"", 1, "empty"),
        (b"# only a comment\n", 1, "empty"),
        (b"- a\n- b\n", 1, "not_mapping"),
        (b"A: b\n  c: d\n", 2, "format"),
        (b"A: [b\n", 1, "format"),  # the end of the stream is past the last line
        (b"A,b\nB,c\xff\n", 2, "encoding"),
        (b"A,b\nB,c,d\n", 2, "columns"),
        (b"A,b\nthu tien,x\n", 2, "term"),
    ],
)
def test_bad_files(data: bytes, line: int, code: str) -> None:
    errors = read_lexicon_file(data).errors
    assert [(e.line, e.code) for e in errors] == [(line, code)]


def test_import_counts_added_updated_unchanged(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        s.add(LexiconEntry(term="UBND", spoken="ủy ban", note="viết tay"))
        s.add(LexiconEntry(term="KDC", spoken="khu dân cư"))
    with transaction(db) as s:
        report = import_lexicon_file(
            s, "UBND,ủy ban nhân dân\nKDC,khu dân cư\nBQLDA,ban quản lý dự án\n", note="tệp"
        )
    assert report.ok
    assert (report.added, report.updated, report.unchanged) == (["BQLDA"], ["UBND"], ["KDC"])
    with db() as s:
        notes = {e.term: e.note for e in s.scalars(select(LexiconEntry))}
        assert load_lexicon(s)["UBND"] == "ủy ban nhân dân"
    assert notes == {"UBND": "viết tay", "KDC": "", "BQLDA": "tệp"}  # hand notes are kept


def test_a_file_with_errors_stores_nothing(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        report = import_lexicon_file(s, "BQLDA,ban quản lý dự án\nKDC,khu 2\n")
    assert not report.ok and report.errors == [LineError(2, "digits", "KDC")]
    with db() as s:
        assert load_lexicon(s) == {}
