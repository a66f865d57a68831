"""The admins' lexicon in the database: read it for rendering; add, edit, delete entries;
import a file into it. Entries are validated here (LexiconError names the reason by code)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.normalize.lexicon import LexiconError, validate_entries, validate_spoken, validate_term
from broadcaster.models import LexiconEntry

logger = logging.getLogger(__name__)


def load_lexicon(session: Session) -> dict[str, str]:
    """Every database entry as term -> spoken form (pass it to render_text(lexicon=...))."""
    rows = session.scalars(select(LexiconEntry).order_by(LexiconEntry.term))
    return {row.term: row.spoken for row in rows}


def add_entry(session: Session, term: str, spoken: str, *, note: str = "") -> LexiconEntry:
    """Add one entry; LexiconError (code ``duplicate`` when the term is already there)."""
    term, spoken = _checked(session, term, spoken)
    entry = LexiconEntry(term=term, spoken=spoken, note=note)
    session.add(entry)
    session.flush()
    logger.info("lexicon: added %s", term)
    return entry


def update_entry(
    session: Session, entry: LexiconEntry, term: str, spoken: str, *, note: str = ""
) -> LexiconEntry:
    """Change one entry; LexiconError as for :func:`add_entry`."""
    entry.term, entry.spoken = _checked(session, term, spoken, entry.id)
    entry.note = note
    session.flush()
    logger.info("lexicon: edited %s", entry.term)
    return entry


def delete_entry(session: Session, entry: LexiconEntry) -> None:
    session.delete(entry)
    session.flush()
    logger.info("lexicon: deleted %s", entry.term)


def _checked(
    session: Session, term: str, spoken: str, entry_id: int | None = None
) -> tuple[str, str]:
    term = validate_term(term)
    spoken = validate_spoken(term, spoken)
    found = session.scalar(select(LexiconEntry.id).where(LexiconEntry.term == term))
    if found is not None and found != entry_id:
        raise LexiconError(f"lexicon term {term!r} is already there", code="duplicate", term=term)
    return term, spoken


def import_lexicon(session: Session, entries: Mapping[str, str], *, note: str = "") -> int:
    """Add or update entries (validated first; LexiconError names a bad one); return the count."""
    checked = validate_entries(entries)
    existing = {
        row.term: row
        for row in session.scalars(select(LexiconEntry).where(LexiconEntry.term.in_(checked)))
    }
    for term, spoken in checked.items():
        row = existing.get(term)
        if row is None:
            session.add(LexiconEntry(term=term, spoken=spoken, note=note))
        else:
            row.spoken = spoken
            if note:
                row.note = note
    logger.info("lexicon: imported %d entries", len(checked))
    return len(checked)
