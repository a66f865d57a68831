"""Fixtures for recordings and the lexicon: the demo commune, users, a fake-voice renderer,
real recordings made with ffmpeg, and a web app/client with a login helper."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.cache import RenderCache
from audio.renderer import TextRenderer
from audio.store import MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.models import Unit, User
from schedules.programme_import import import_demo
from tests.support.webapp import PASSWORDS, Login, client, clock_start, flask_app, login

# The demo's province staff: one user per role, whose role covers every demo commune.
PROVINCE_STAFF = select(User).join(User.unit).where(Unit.parent_id.is_(None))

__all__ = ["PASSWORDS", "Login", "client", "clock_start", "login", "make_audio"]


def make_audio(path: Path, source: str = "sine=frequency=330:duration=2", *args: str) -> bytes:
    """A real audio file made by ffmpeg from a lavfi source (format from the file name)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-ac", "1"]
    subprocess.run([*cmd, *args, str(path)], check=True, timeout=60)
    return path.read_bytes()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings with small recording limits, so limits are quick to exceed."""
    return Settings.load(
        env={},
        database_url=f"sqlite:///{tmp_path}/db.sqlite3",
        media_dir=str(tmp_path / "media"),
        render_cache_dir=str(tmp_path / "cache"),
        signing_key_file=str(tmp_path / "signing-key.pem"),
        secret_key="test-session-signing-key-0123456789abcdef",
        tts_engine="espeak",
        recording_max_seconds=20.0,
        recording_max_bytes=1024 * 1024,
    )


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
def fake_renderer(settings: Settings) -> TextRenderer:
    """The real renderer (normalize, cache, master, store) with a tone voice that records the
    spoken text it was given (``fake_renderer.engine.calls``)."""
    return TextRenderer(
        engine=FakeEngine(ms_per_char=5),
        store=MediaStore(settings.media_dir),
        cache=RenderCache(settings.render_cache_dir),
        max_chars=settings.max_text_chars,
    )


@pytest.fixture
def app(
    settings: Settings, db: sessionmaker[Session], fake_renderer: TextRenderer, clock: Clock
) -> Iterator[Flask]:
    with flask_app(settings, db, fake_renderer, clock=clock) as app:
        yield app
