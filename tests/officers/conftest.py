"""Officer fixtures: the seeded data (officers_seed.py) on SQLite and PostgreSQL
(``any_db_url``), and a Flask app with a logged-in district officer whose clock stands at the
seed's ``NOW``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from officers_seed import NOW, Seeded, seed
from sqlalchemy.orm import Session, sessionmaker

from audio.render import Rendered
from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from tests.support.webapp import flask_app


@pytest.fixture
def seeded(any_db_url: str) -> Iterator[Seeded]:
    engine = make_engine(any_db_url)
    yield seed(session_factory(engine))
    engine.dispose()


@pytest.fixture
def seeded_sqlite(db: sessionmaker[Session]) -> Seeded:
    """The same data on the per-test SQLite database (for the web app)."""
    return seed(db)


@pytest.fixture
def clock_start() -> datetime:
    """The web app's clock: the seed's data are pinned to ``NOW``."""
    return NOW


@pytest.fixture
def app(
    settings, db: sessionmaker[Session], seeded_sqlite: Seeded, clock: FakeClock
) -> Iterator[Flask]:
    def no_renderer(text: str, **options: object) -> Rendered:
        raise AssertionError("officer pages never render speech")

    with flask_app(settings, db, no_renderer, commune=False, clock=clock) as app:
        yield app


@pytest.fixture
def officer(app: Flask) -> Iterator[FlaskClient]:
    """A client logged in as the demo district officer, in Vietnamese."""
    with app.test_client() as c:
        r = c.post("/login", data={"username": "canbo", "password": "canbo1234"})
        assert r.status_code == 302
        yield c
