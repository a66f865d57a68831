"""The agent store's schema versions: an old store file is upgraded in place, its rows intact;
each step is all or nothing; a file from a newer agent is refused."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaError,
    migrate,
    schema_version,
    sql,
)
from broadcaster.agent.store import Store
from broadcaster.wire.fields import to_wire_time
from broadcaster.wire.messages import Event

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)
SITE = "s1"

# The store's tables as the agent created them before the schema had a version (user_version 0),
# frozen here: this is what the Pis in the field hold. Never update it to match the code.
UNVERSIONED_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    sent_at REAL
);
CREATE TABLE IF NOT EXISTS handled (
    item_id TEXT PRIMARY KEY,
    start TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    topics TEXT NOT NULL,
    payload TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS playing (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    item_id TEXT NOT NULL,
    announcement_id INTEGER,
    scheduled_at TEXT,
    command TEXT,
    started_at TEXT NOT NULL
);
"""


def _old_store(path: Path) -> str:
    """An unversioned store file with a row in every table, as a running agent leaves it;
    returns its outbox id."""
    outbox = str(uuid.uuid4())
    t0 = to_wire_time(T0)
    event = Event(
        id=str(uuid.uuid4()), site=SITE, outbox=outbox, seq=41, kind="started", at=T0,
        item_id="occ-1", scheduled_at=T0, detail="late by 3 ms; Thông báo",
    )  # fmt: skip
    db = sqlite3.connect(path)
    db.executescript(UNVERSIONED_DDL)
    with db:
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("outbox", outbox),
                ("next_seq", "42"),
                ("command_seq", "9"),
                ("volume", "35"),
                ("trusted_keys", json.dumps({"version": 3, "keys": ["a2V5"]})),
            ],
        )
        db.execute("INSERT INTO plan VALUES (1, 1733300000000, '{\"v\": 7}', ?)", (t0,))
        db.execute("INSERT INTO media VALUES ('ab12', '/m/ab12.mp3', 2048, ?, ?)", (t0, t0))
        db.execute("INSERT INTO outbox VALUES (41, ?, 100.5)", (json.dumps(event.to_dict()),))
        db.execute("INSERT INTO handled VALUES ('occ-1', ?, 'started', ?)", (t0, t0))
        db.execute(
            "INSERT INTO commands VALUES ('cmd-9', 9, 'play', ?, '[\"t\"]', '{}', 'accepted', ?)",
            (to_wire_time(T0 + timedelta(minutes=5)), t0),
        )
        db.execute("INSERT INTO playing VALUES (1, 'occ-1', 7, ?, NULL, ?)", (t0, t0))
    assert schema_version(db) == 0
    db.close()
    return outbox


def test_an_unversioned_store_is_upgraded_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    outbox = _old_store(path)
    with Store(path, SITE) as store:
        assert store.outbox_id == outbox
        assert store.plan() == (1733300000000, '{"v": 7}')
        assert store.last_command_seq() == 9
        assert store.volume() == 35
        assert store.trusted_keys() == (3, ["a2V5"])
        assert store.media_path("ab12") == Path("/m/ab12.mp3") and store.media_bytes() == 2048
        (pending,) = store.pending_events()
        assert (pending.seq, pending.item_id, pending.outbox) == (41, "occ-1", outbox)
        assert store.pending_events(sent_before=100.0) == []  # sent_at survived too
        assert store.handled_ids() == {"occ-1"}
        assert store.command("cmd-9") == ("{}", ["t"], "accepted")
        cut = store.cut_off_playback()
        assert cut is not None and cut["item_id"] == "occ-1" and cut["announcement_id"] == 7
        assert store.append_event("finished", T0).seq == 42  # the seq goes on, never back
    with closing(sqlite3.connect(path)) as db:
        assert schema_version(db) == SCHEMA_VERSION
    with Store(path, SITE) as store:  # opening an up-to-date store changes nothing
        assert [e.seq for e in store.pending_events()] == [41, 42]


def test_a_new_store_starts_at_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    Store(path, SITE).close()
    with closing(sqlite3.connect(path)) as db:
        assert schema_version(db) == SCHEMA_VERSION == len(MIGRATIONS)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)  # as the store opens it


def test_a_later_step_runs_once_and_a_failing_step_leaves_the_previous_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "agent.sqlite3"
    _old_store(path)
    add_column = sql(
        "ALTER TABLE media ADD COLUMN codec TEXT NOT NULL DEFAULT 'mp3'",
        "UPDATE media SET codec = 'opus' WHERE sha256 = 'ab12'",
    )
    steps = [*MIGRATIONS, add_column]
    db = _connect(path)
    assert migrate(db, steps) == 0
    assert schema_version(db) == len(steps)
    assert db.execute("SELECT sha256, size, codec FROM media").fetchall() == [
        ("ab12", 2048, "opus")
    ]
    assert migrate(db, steps) == len(steps)  # nothing left to run: no "duplicate column"

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE zones (name TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM outbox")
        raise sqlite3.OperationalError("power cut")

    with pytest.raises(sqlite3.OperationalError, match="power cut"):
        migrate(db, [*steps, half_done])
    assert schema_version(db) == len(steps)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "zones" not in tables
    db.close()


def test_a_store_from_a_newer_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    Store(path, SITE).close()
    with closing(_connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaError, match=f"version {SCHEMA_VERSION + 1}, newer"):
        Store(path, SITE)
