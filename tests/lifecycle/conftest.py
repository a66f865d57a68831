"""The announcement's life in the web (issue 13), on SQLite and PostgreSQL: an app on a fresh
migrated database of either kind with the demo programme, pinned to the suite's fixed "now"."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory
from tests.support.webapp import flask_app
from tests.web.conftest import (  # noqa: F401  (fixtures reused from the web tests)
    FakeRenderer,
    auth,
    client,
    pytest_runtest_makereport,
    renderer,
    sample_mp3,
)


@contextmanager
def sqlite_copy(settings: Settings, template: Path) -> Iterator[sessionmaker[Session]]:
    """The suite's migrated SQLite template copied to the test's database: for the real-parts
    tests, whose agents and brokers cost more than a second database would tell."""
    target = Path(settings.database_url.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    engine = make_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(any_db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def app(
    settings: Settings,
    any_db_url: str,
    db: sessionmaker[Session],
    renderer: FakeRenderer,  # noqa: F811
    clock: Clock,
) -> Iterator[Flask]:
    with flask_app(settings.replace(database_url=any_db_url), db, renderer, clock=clock) as app:
        yield app
