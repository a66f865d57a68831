"""The database lexicon: migrated table, import, and application at the next render."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audio.lexicon_file import read_lexicon_file
from audio.lexicon_store import (
    add_entry,
    delete_entry,
    import_lexicon,
    load_lexicon,
    update_entry,
)
from audio.normalize.lexicon import LexiconError
from audio.render import render_text
from audio.store import MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.db import transaction
from broadcaster.models import LexiconEntry


def test_migration_creates_the_table(db: sessionmaker[Session]) -> None:
    with db() as session:
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("lexicon_entries")}
    assert columns == {"id", "term", "spoken", "note", "created_at"}


def test_import_then_render_uses_the_entries(db: sessionmaker[Session], store: MediaStore) -> None:
    entries = read_lexicon_file("BQLDA,ban quản lý dự án\nĐắk,đắc\n").entries
    with transaction(db) as session:
        assert import_lexicon(session, entries, note="from the district list") == 2
    with transaction(db) as session:
        import_lexicon(session, {"BQLDA": "ban quản lý các dự án"})  # an update, not a duplicate
    with db() as session:
        lexicon = load_lexicon(session)
        assert session.query(LexiconEntry).count() == 2
    assert lexicon == {"BQLDA": "ban quản lý các dự án", "Đắk": "đắc"}
    engine = FakeEngine()
    render_text("BQLDA xã Đắk Hà.", engine=engine, store=store, lexicon=lexicon)
    assert engine.calls == ["ban quản lý các dự án xã đắc hà."]


def test_bad_entries_are_rejected_before_storing(db: sessionmaker[Session]) -> None:
    with pytest.raises(LexiconError, match="numbers in words"):
        with transaction(db) as session:
            import_lexicon(session, {"ABC": "a 1"})
    with db() as session:
        assert load_lexicon(session) == {}


def test_terms_are_unique(db: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError):
        with transaction(db) as session:
            session.add_all(
                [LexiconEntry(term="X", spoken="ích"), LexiconEntry(term="X", spoken="x")]
            )


def test_add_edit_delete_one_entry_validated(db: sessionmaker[Session]) -> None:
    with transaction(db) as session:
        entry = add_entry(session, " UBND ", "Ủy  Ban Nhân Dân", note="chung")
        other = add_entry(session, "HTX", "hợp tác xã")
        assert (entry.term, entry.spoken, entry.note) == ("UBND", "ủy ban nhân dân", "chung")
        with pytest.raises(LexiconError) as taken:
            add_entry(session, "UBND", "ủy ban")
        assert taken.value.code == "duplicate"
        with pytest.raises(LexiconError) as taken:
            update_entry(session, other, "UBND", "ủy ban")
        assert taken.value.code == "duplicate" and other.term == "HTX"
        with pytest.raises(LexiconError) as digits:
            add_entry(session, "QL1", "quốc lộ 1")
        assert digits.value.code == "digits"
        update_entry(session, entry, "UBND", "ủy ban nhân dân xã")  # its own term is not taken
        delete_entry(session, other)
    with db() as session:
        assert load_lexicon(session) == {"UBND": "ủy ban nhân dân xã"}
