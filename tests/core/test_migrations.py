"""Alembic migrations: they build exactly the models' schema, on SQLite and PostgreSQL,
and upgrading keeps existing rows."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from broadcaster.db import alembic_config, make_engine, upgrade
from broadcaster.models import Base


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"


def test_migrations_match_the_models(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrading_keeps_rows(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    upgrade(url, "0001")
    engine = make_engine(url)
    now = datetime(2026, 11, 23, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role, active,"
                " created_at) VALUES (1, 'a', 'A', 'x', 'editor', 1, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO announcements (id, title, body, category, priority, status,"
                " author_id, created_at, reject_reason, tts_engine)"
                " VALUES (1, 't', 'b', '', 'normal', 'draft', 1, :now, '', '')"
            ),
            {"now": now},
        )
        conn.execute(
            text("INSERT INTO schedule_items (id, announcement_id, start_at) VALUES (1, 1, :now)"),
            {"now": now},
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM schedule_items")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM announcements")).scalar() == 1
    engine.dispose()
