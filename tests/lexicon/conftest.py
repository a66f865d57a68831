"""Fixtures for the lexicon pages: the demo commune, an app whose renderer is the real
TextRenderer with a fake voice that records the spoken text, and a login helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from audio.renderer import TextRenderer
from audio.store import MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.clock import Clock
from broadcaster.config import Settings
from tests.support.webapp import PASSWORDS, Login, client, clock_start, flask_app, login

__all__ = ["PASSWORDS", "Login", "client", "clock_start", "login"]


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(ms_per_char=5)


@pytest.fixture
def app(
    settings: Settings,
    db: sessionmaker[Session],
    engine: FakeEngine,
    clock: Clock,
    tmp_path: Path,
) -> Iterator[Flask]:
    renderer = TextRenderer(engine=engine, store=MediaStore(settings.media_dir))
    with flask_app(settings, db, renderer, clock=clock) as app:
        yield app
