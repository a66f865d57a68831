"""Shared fixtures: settings and a migrated database per test, a real private Mosquitto.

Feature folders add their own fixtures in their own conftest.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, upgrade
from tests.support.clock import clock, clock_start
from tests.support.sinks import smtp, webhook, webhook_sink

__all__ = ["clock", "clock_start", "smtp", "webhook", "webhook_sink"]  # fixtures for every test

POSTGRES_URL = os.environ.get(
    "BROADCASTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own SQLite file, media folder and signing key path."""
    return Settings.load(
        env={},
        database_url=f"sqlite:///{tmp_path}/db.sqlite3",
        media_dir=str(tmp_path / "media"),
        signing_key_file=str(tmp_path / "signing-key.pem"),
        secret_key="test-session-signing-key-0123456789abcdef",
        tts_engine="espeak",
    )


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to Alembic head, once per run: ``db`` copies it (a copy takes a
    millisecond, running the migrations a quarter of a second)."""
    path = tmp_path_factory.mktemp("template") / "db.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database (Alembic head, copied from the run's template) and its
    session factory."""
    target = Path(settings.database_url.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_sqlite_template, target)
    engine = make_engine(settings.database_url)
    yield session_factory(engine)
    engine.dispose()


def _postgres_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on SQLite and on PostgreSQL (skipped when absent)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/db.sqlite3"
        upgrade(url)
        yield url
        return
    with migrated_postgres_schema() as url:
        yield url


@contextmanager
def migrated_postgres_schema() -> Iterator[str]:
    """A fresh schema on PostgreSQL migrated to head, dropped afterwards: its URL. Skips the
    test when no server answers. Fixtures of any scope use it."""
    reason = _postgres_available()
    if reason:
        pytest.skip(reason)
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    raw = POSTGRES_URL.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema's URL (skipped when absent): for what only a
    province's database does, e.g. several processes writing at once."""
    with migrated_postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(server URL, a fresh schema name nothing uses) on PostgreSQL, skipped when absent. The
    test makes the schema (or lets the code under test make it); it is dropped afterwards."""
    reason = _postgres_available()
    if reason:
        pytest.skip(reason)
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield POSTGRES_URL, schema
    finally:
        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A real Mosquitto on a free port with passwords and ACL; add agents before start()."""
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        pytest.fail("mosquitto is not installed: run scripts/bootstrap.sh")
    b = PrivateBroker(tmp_path / "broker")
    yield b
    b.stop()
