"""The admins' lexicon in the database: read it for rendering, import a file into it."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.normalize.lexicon import validate_entries
from broadcaster.models import LexiconEntry

logger = logging.getLogger(__name__)


def load_lexicon(session: Session) -> dict[str, str]:
    """Every database entry as term -> spoken form (pass it to render_text(lexicon=...))."""
    rows = session.scalars(select(LexiconEntry).order_by(LexiconEntry.term))
    return {row.term: row.spoken for row in rows}


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
