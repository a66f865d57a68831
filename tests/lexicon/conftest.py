"""Fixtures for the lexicon pages: the demo commune, an app whose renderer is the real
TextRenderer with a fake voice that records the spoken text, and a login helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from audio.store import MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.config import Settings
from broadcaster.db import transaction
from schedules.commune import load_commune
from schedules.rendering import TextRenderer
from web import create_app

PASSWORDS = {
    "bientap": "bientap123",
    "pheduyet": "pheduyet123",
    "canbo": "canbo1234",
    "quantri": "quantri123",
}


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(ms_per_char=5)


@pytest.fixture
def app(
    settings: Settings, db: sessionmaker[Session], engine: FakeEngine, tmp_path: Path
) -> Iterator[Flask]:
    with transaction(db) as s:
        load_commune(s)
    renderer = TextRenderer(engine=engine, store=MediaStore(settings.media_dir))
    app = create_app(settings, renderer=renderer, sessions=db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["broadcaster"].close()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


class Login:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def __call__(self, username: str) -> TestResponse:
        return self.client.post(
            "/login", data={"username": username, "password": PASSWORDS[username]}
        )


@pytest.fixture
def login(client: FlaskClient) -> Login:
    return Login(client)
