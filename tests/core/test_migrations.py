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


def test_plan_versions_take_milliseconds_after_0008(any_db_url: str) -> None:
    """0008 widens the plan versions to BIGINT and keeps the rows (issue 9: PostgreSQL said
    "integer out of range" to a version in ms); going back clamps them to 32 bits."""
    from alembic import command

    ms = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)
    command.downgrade(alembic_config(any_db_url), "0007")
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sites (id, name, output, state, reported_plan_version,"
                    " agent_version, last_error) VALUES ('s1', 'S1', 'amplifier', 'online', 7,"
                    " '', '')"
                )
            )
            conn.execute(
                text("INSERT INTO site_plans (site_id, version, digest) VALUES ('s1', 7, '')")
            )
        upgrade(any_db_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT version FROM site_plans")).scalar() == 7
            conn.execute(text("UPDATE site_plans SET version = :ms"), {"ms": ms})
            conn.execute(text("UPDATE sites SET reported_plan_version = :ms"), {"ms": ms})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM site_plans")).scalar() == ms
            assert conn.execute(text("SELECT reported_plan_version FROM sites")).scalar() == ms
        engine.dispose()
        command.downgrade(alembic_config(any_db_url), "0007")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM site_plans")).scalar() == 2**31 - 1
            assert conn.execute(text("SELECT count(*) FROM sites")).scalar() == 1
    finally:
        engine.dispose()


def test_units_take_in_the_communes_after_0012(any_db_url: str) -> None:
    """0012 makes a unit of each zone's commune name, puts sites in their zones' commune, users
    at the top unit and airings under their site's unit; going back restores the names."""
    from alembic import command

    command.downgrade(alembic_config(any_db_url), "0014")
    now = datetime(2026, 11, 23, tzinfo=UTC).replace(tzinfo=None)
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, password_hash, role, active,"
                    " created_at) VALUES (1, 'a', 'A', 'x', 'editor', true, :now)"
                ),
                {"now": now},
            )
            for zid, commune in (("z1", "Xã Một"), ("z2", "Xã Hai"), ("z3", "")):
                conn.execute(
                    text(
                        "INSERT INTO zones (id, name, commune, language)"
                        " VALUES (:id, :id, :c, 'vi')"
                    ),
                    {"id": zid, "c": commune},
                )
            for sid in ("s1", "s2", "s3"):
                conn.execute(
                    text(
                        "INSERT INTO sites (id, name, output, state, reported_plan_version,"
                        " agent_version, last_error) VALUES (:id, :id, 'amplifier', 'online',"
                        " 0, '', '')"
                    ),
                    {"id": sid},
                )
            conn.execute(text("INSERT INTO site_zones VALUES ('s1', 'z1'), ('s2', 'z2')"))
            conn.execute(
                text(
                    "INSERT INTO playbacks (site_id, item_id, status, detail, updated_at)"
                    " VALUES ('s2', 'i1', 'finished', '', :now)"
                ),
                {"now": now},
            )
        upgrade(any_db_url)
        with engine.connect() as conn:

            def unit_of(table: str, key: str) -> str:
                return str(
                    conn.execute(
                        text(
                            f"SELECT u.name FROM {table} t JOIN units u"  # noqa: S608
                            f" ON u.id = t.unit_id WHERE t.{key}"
                        )
                    ).scalar()
                )

            assert unit_of("zones", "id = 'z1'") == "Xã Một"
            assert unit_of("zones", "id = 'z3'") == "Xã"
            assert unit_of("sites", "id = 's2'") == "Xã Hai"
            assert unit_of("sites", "id = 's3'") == "Xã"
            assert unit_of("users", "id = 1") == "Tỉnh"
            assert unit_of("playbacks", "item_id = 'i1'") == "Xã Hai"
            parents = conn.execute(
                text("SELECT count(*) FROM units WHERE parent_id IS NULL")
            ).scalar()
            assert parents == 1
        engine.dispose()
        command.downgrade(alembic_config(any_db_url), "0014")
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT commune FROM zones WHERE id = 'z2'")).scalar() == "Xã Hai"
            )
    finally:
        engine.dispose()
