"""Fixtures for core tests: the demo commune loaded, users, and a fast real renderer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.renderer import TextRenderer
from audio.store import MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.models import Unit, User
from schedules.programme_import import import_demo

# The demo's province staff: one user per role, whose role covers every demo commune.
PROVINCE_STAFF = select(User).join(User.unit).where(Unit.parent_id.is_(None))


@pytest.fixture
def session(db: sessionmaker[Session]) -> Iterator[Session]:
    with db() as s, s.begin():
        import_demo(s)
        s.flush()
        yield s


@pytest.fixture
def users(session: Session) -> dict[str, User]:
    return {u.role: u for u in session.scalars(PROVINCE_STAFF)}


@pytest.fixture
def renderer(tmp_path: Path) -> TextRenderer:
    """Real mastering and storage with a synthetic voice (no TTS engine needed)."""
    return TextRenderer(engine=FakeEngine(ms_per_char=5), store=MediaStore(tmp_path / "media"))
