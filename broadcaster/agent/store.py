"""The agent's local state in SQLite: current plan, media index, event outbox, handled items.

WAL mode, one connection guarded by a lock, every change in its own transaction. The outbox has
a persistent id (a UUID made once per store) and a ``seq`` counter that only ever goes up, so the
server can acknowledge "everything up to seq N of outbox X".
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.wire.messages import Event, to_wire_time

SCHEMA = """
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
"""

HANDLED_KEEP = timedelta(days=7)  # forget handled items this long after they were due


class Store:
    """Thread-safe local state. Open once per process; ``close`` when done."""

    def __init__(self, path: str | os.PathLike[str], site: str) -> None:
        self.path = Path(path)
        self.site = site
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a Pi loses power; events must survive
        self._db.execute("PRAGMA busy_timeout=5000")
        with self._lock:
            self._db.executescript(SCHEMA)
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key='outbox'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('outbox', ?)", (str(uuid.uuid4()),))
                db.execute("INSERT INTO meta VALUES ('next_seq', '1')")
            self.outbox_id: str = db.execute(
                "SELECT value FROM meta WHERE key='outbox'"
            ).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- plan ---------------------------------------------------------------------------------

    def plan(self) -> tuple[int, str] | None:
        """The current plan as (version, verified payload JSON), or None."""
        rows = self._query("SELECT version, payload FROM plan WHERE id = 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None  # type: ignore[call-overload]

    def plan_version(self) -> int:
        current = self.plan()
        return current[0] if current else 0

    def save_plan(self, version: int, payload_json: str, now: datetime) -> None:
        """Replace the current plan; raises ValueError unless ``version`` is newer."""
        with self._tx() as db:
            row = db.execute("SELECT version FROM plan WHERE id = 1").fetchone()
            if row is not None and version <= row[0]:
                raise ValueError(f"plan version {version} is not newer than {row[0]}")
            db.execute(
                "INSERT OR REPLACE INTO plan VALUES (1, ?, ?, ?)",
                (version, payload_json, to_wire_time(now)),
            )
            db.execute("DELETE FROM handled WHERE start < ?", (to_wire_time(now - HANDLED_KEEP),))

    # -- media index --------------------------------------------------------------------------

    def add_media(self, sha256: str, path: Path, size: int, now: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?, ?)",
                (sha256, str(path), size, to_wire_time(now), to_wire_time(now)),
            )

    def media_path(self, sha256: str) -> Path | None:
        rows = self._query("SELECT path FROM media WHERE sha256 = ?", (sha256,))
        return Path(str(rows[0][0])) if rows else None

    def forget_media(self, sha256: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM media WHERE sha256 = ?", (sha256,))

    # -- handled occurrences ------------------------------------------------------------------

    def handled_ids(self) -> set[str]:
        return {str(r[0]) for r in self._query("SELECT item_id FROM handled")}

    def is_handled(self, item_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM handled WHERE item_id = ?", (item_id,)))

    # -- outbox -------------------------------------------------------------------------------

    def append_event(
        self,
        kind: str,
        at: datetime,
        *,
        item_id: str | None = None,
        announcement_id: int | None = None,
        scheduled_at: datetime | None = None,
        detail: str = "",
        mark_handled: bool = False,
    ) -> Event:
        """Add an event to the outbox with the next seq; optionally mark its item handled in the
        same transaction, so a crash can never leave an item played-but-replayable."""
        with self._tx() as db:
            seq = int(db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])
            db.execute("UPDATE meta SET value = ? WHERE key='next_seq'", (str(seq + 1),))
            event = Event(
                id=str(uuid.uuid4()),
                site=self.site,
                outbox=self.outbox_id,
                seq=seq,
                kind=kind,
                at=at,
                item_id=item_id,
                announcement_id=announcement_id,
                scheduled_at=scheduled_at,
                detail=detail[:1000],
            )
            body = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))
            db.execute("INSERT INTO outbox (seq, body) VALUES (?, ?)", (seq, body))
            if mark_handled:
                if item_id is None or scheduled_at is None:
                    raise ValueError("mark_handled needs item_id and scheduled_at")
                db.execute(
                    "INSERT INTO handled VALUES (?, ?, ?, ?)",
                    (item_id, to_wire_time(scheduled_at), kind, to_wire_time(at)),
                )
        return event

    def pending_events(self, sent_before: float | None = None) -> list[Event]:
        """Unacknowledged events in seq order; with ``sent_before`` (a time.time() value) only
        those never sent or last sent before it."""
        if sent_before is None:
            rows = self._query("SELECT body FROM outbox ORDER BY seq")
        else:
            rows = self._query(
                "SELECT body FROM outbox WHERE sent_at IS NULL OR sent_at < ? ORDER BY seq",
                (sent_before,),
            )
        return [Event.from_dict(json.loads(str(r[0]))) for r in rows]

    def mark_sent(self, seqs: list[int], when: float) -> None:
        if not seqs:
            return
        with self._tx() as db:
            db.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ?", [(when, s) for s in seqs])

    def ack(self, seq: int) -> int:
        """Delete every event with seq <= ``seq``; return how many went."""
        with self._tx() as db:
            return db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount

    def outbox_size(self) -> int:
        return int(self._query("SELECT count(*) FROM outbox")[0][0])  # type: ignore[call-overload]

    def last_seq(self) -> int:
        rows = self._query("SELECT value FROM meta WHERE key='next_seq'")
        return int(str(rows[0][0])) - 1
