"""The agent's local state in SQLite: current plan, media index, event outbox, handled items,
commands seen, trusted keys, and what is playing right now.

WAL mode, ``synchronous=FULL``, one connection guarded by a lock, every change in its own
transaction, so a kill -9 or a power cut leaves either the old state or the new one. The outbox
has a persistent id (a UUID made once per store) and a ``seq`` counter that only ever goes up, so
the server can acknowledge "everything up to seq N of outbox X". The tables are defined, and
upgraded in place, by :mod:`broadcaster.agent.migrations`.

A write that fails (disk full, read-only filesystem, I/O error) raises :class:`StoreError` and
sets :attr:`Store.write_error` (the heartbeat's ``store_ok`` flag) until a write succeeds again.
An event that cannot be appended is kept in memory, in order, and goes into the outbox with the
next write that succeeds (or :meth:`Store.retry_writes`): it is reported late, never lost while
the process lives.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.wire.fields import to_wire_time
from broadcaster.wire.messages import Event

from .migrations import migrate

logger = logging.getLogger(__name__)

HANDLED_KEEP = timedelta(days=7)  # forget handled items this long after they were due
COMMANDS_KEEP = timedelta(days=1)  # remember command ids this long after they expired
MAX_UNSAVED = 10_000  # events kept in memory while the store cannot write (oldest dropped)


class StaleError(ValueError):
    """A plan version, command seq or keys version that is not newer than the current one."""


def _disk_error(exc: sqlite3.Error) -> bool:
    """Disk full, read-only, I/O error, locked or corrupt: not a bug in a statement."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class StoreError(OSError):
    """A write to the agent's store failed: disk full, read-only filesystem or I/O error."""


class Store:
    """Thread-safe local state. Open once per process; ``close`` when done."""

    def __init__(self, path: str | os.PathLike[str], site: str) -> None:
        self.path = Path(path)
        self.site = site
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.write_error = ""  # why the last write failed; "" once a write succeeds again
        self._unsaved: list[tuple[str, datetime, dict[str, Any]]] = []  # events not yet written
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a Pi loses power; events must survive
        self._db.execute("PRAGMA busy_timeout=5000")
        try:
            migrate(self._db)
        except BaseException:
            self._db.close()
            raise
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
        """One write transaction; a failure of the disk raises :class:`StoreError`."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                if not _disk_error(exc):
                    raise
                raise self._failed(exc) from exc
            except BaseException:
                self._rollback()
                raise
            if self.write_error:
                logger.warning("the store writes again (after: %s)", self.write_error)
            self.write_error = ""

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (it does after SQLITE_FULL and some I/O errors)

    def _failed(self, exc: sqlite3.Error) -> StoreError:
        self.write_error = f"{exc.__class__.__name__}: {exc}"
        logger.error("store write failed: %s", self.write_error)
        return StoreError(f"the agent's store cannot write ({exc})")

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
                raise StaleError(f"plan version {version} is not newer than {row[0]}")
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

    def touch_media(self, sha256: str, now: datetime) -> None:
        """Mark media as just used (the LRU order)."""
        with self._tx() as db:
            db.execute("UPDATE media SET used_at = ? WHERE sha256 = ?", (to_wire_time(now), sha256))

    def media_lru(self) -> list[tuple[str, Path, int]]:
        """Every cached media file as (sha256, path, size), least recently used first."""
        rows = self._query(
            "SELECT sha256, path, size FROM media ORDER BY coalesce(used_at, fetched_at), sha256"
        )
        return [(str(r[0]), Path(str(r[1])), int(str(r[2]))) for r in rows]

    def media_bytes(self) -> int:
        return int(str(self._query("SELECT coalesce(sum(size), 0) FROM media")[0][0]))

    # -- commands -----------------------------------------------------------------------------

    def last_command_seq(self) -> int:
        rows = self._query("SELECT value FROM meta WHERE key='command_seq'")
        return int(str(rows[0][0])) if rows else 0

    def command(self, command_id: str) -> tuple[str, list[str], str] | None:
        """A command seen before, as (canonical payload, topics it came on, outcome)."""
        rows = self._query(
            "SELECT payload, topics, outcome FROM commands WHERE id = ?", (command_id,)
        )
        if not rows:
            return None
        return str(rows[0][0]), list(json.loads(str(rows[0][1]))), str(rows[0][2])

    def add_command_topic(self, command_id: str, topic: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT topics FROM commands WHERE id = ?", (command_id,)).fetchone()
            if row is not None:
                topics = sorted({*json.loads(row[0]), topic})
                db.execute(
                    "UPDATE commands SET topics = ? WHERE id = ?", (json.dumps(topics), command_id)
                )

    def record_command(
        self,
        *,
        command_id: str,
        seq: int,
        action: str,
        expires_at: datetime,
        topic: str,
        payload_json: str,
        outcome: str,
        now: datetime,
        advance_seq: bool,
        event_kind: str,
        **event: Any,
    ) -> Event:
        """Remember a command (against replays) and append its event, in one transaction.

        With ``advance_seq`` the command's seq must be above the last accepted one (else
        :class:`StaleError`) and becomes the new last one."""
        with self._lock:  # the kept events are cleared only once written
            with self._tx() as db:
                if advance_seq:
                    row = db.execute("SELECT value FROM meta WHERE key='command_seq'").fetchone()
                    last = int(row[0]) if row else 0
                    if seq <= last:
                        raise StaleError(f"command seq {seq} is not above {last}")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('command_seq', ?)", (str(seq),))
                db.execute(
                    "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        command_id,
                        seq,
                        action,
                        to_wire_time(expires_at),
                        json.dumps([topic]),
                        payload_json,
                        outcome,
                        to_wire_time(now),
                    ),
                )
                db.execute(
                    "DELETE FROM commands WHERE expires_at < ?",
                    (to_wire_time(now - COMMANDS_KEEP),),
                )
                self._append_unsaved(db)
                appended = self._append(db, event_kind, now, **event)
            self._unsaved.clear()
            return appended

    def _append_unsaved(self, db: sqlite3.Connection) -> None:
        """Inside a transaction: the events kept in memory first, so seqs stay in order (the
        caller clears them once the transaction committed)."""
        for kind, at, fields in self._unsaved:
            self._append(db, kind, at, **fields)

    def accepted_commands(self, action: str) -> list[str]:
        """Payloads of accepted commands of ``action`` still remembered, oldest seq first."""
        rows = self._query(
            "SELECT payload FROM commands WHERE action = ? AND outcome = 'accepted' ORDER BY seq",
            (action,),
        )
        return [str(r[0]) for r in rows]

    # -- trusted keys and settings ------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def trusted_keys(self) -> tuple[int, list[str]] | None:
        """The trusted-keys list learnt from the server (version, keys), or None."""
        value = self._meta("trusted_keys")
        if value is None:
            return None
        data = json.loads(value)
        return int(data["version"]), list(data["keys"])

    def save_trusted_keys(
        self, version: int, keys: list[str], event_detail: str, now: datetime
    ) -> Event:
        """Replace the trusted keys (only by a newer version) and log it, in one transaction."""
        with self._lock:  # the kept events are cleared only once written
            with self._tx() as db:
                row = db.execute("SELECT value FROM meta WHERE key='trusted_keys'").fetchone()
                if row is not None and version <= int(json.loads(row[0])["version"]):
                    raise StaleError(f"keys version {version} is not newer")
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('trusted_keys', ?)",
                    (json.dumps({"version": version, "keys": keys}),),
                )
                self._append_unsaved(db)
                appended = self._append(db, "received", now, detail=event_detail)
            self._unsaved.clear()
            return appended

    def volume(self) -> int | None:
        value = self._meta("volume")
        return int(value) if value is not None else None

    def set_volume(self, volume: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('volume', ?)", (str(volume),))

    # -- handled occurrences ------------------------------------------------------------------

    def handled_ids(self) -> set[str]:
        return {str(r[0]) for r in self._query("SELECT item_id FROM handled")}

    def is_handled(self, item_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM handled WHERE item_id = ?", (item_id,)))

    # -- outbox -------------------------------------------------------------------------------

    def _append(
        self,
        db: sqlite3.Connection,
        kind: str,
        at: datetime,
        *,
        item_id: str | None = None,
        announcement_id: int | None = None,
        scheduled_at: datetime | None = None,
        detail: str = "",
        mark_handled: bool = False,
        command: str | None = None,
        late_ms: int | None = None,
        playing: bool | None = None,
    ) -> Event:
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
            command=command,
            late_ms=late_ms,
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
        if playing is True:
            if item_id is None:
                raise ValueError("playing needs item_id")
            db.execute(
                "INSERT OR REPLACE INTO playing VALUES (1, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    announcement_id,
                    to_wire_time(scheduled_at) if scheduled_at else None,
                    command,
                    to_wire_time(at),
                ),
            )
        elif playing is False:
            db.execute("DELETE FROM playing")
        return event

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
        command: str | None = None,
        late_ms: int | None = None,
        playing: bool | None = None,
    ) -> Event:
        """Add an event to the outbox with the next seq; optionally mark its item handled in the
        same transaction, so a crash can never leave an item played-but-replayable.

        ``playing=True`` records (in the same transaction) that the item is now playing, and
        ``playing=False`` that it no longer is: after a kill -9 the agent finds the item that was
        cut off and reports it as interrupted.

        When the store cannot write, the event is kept in memory (after any kept before it) and
        :class:`StoreError` is raised; it is written, in order, with the next write of an event
        that succeeds or by :meth:`retry_writes`."""
        fields: dict[str, Any] = {
            "item_id": item_id,
            "announcement_id": announcement_id,
            "scheduled_at": scheduled_at,
            "detail": detail,
            "mark_handled": mark_handled,
            "command": command,
            "late_ms": late_ms,
            "playing": playing,
        }
        if mark_handled and (item_id is None or scheduled_at is None):
            raise ValueError("mark_handled needs item_id and scheduled_at")
        if playing is True and item_id is None:
            raise ValueError("playing needs item_id")
        with self._lock:
            self._unsaved.append((kind, at, fields))
            if len(self._unsaved) > MAX_UNSAVED:
                dropped = self._unsaved.pop(0)
                logger.error("store cannot write: event %s dropped from memory", dropped[0])
            try:
                written = self._write_unsaved()
            except StoreError:
                raise
            except Exception:  # this event itself is refused (an item handled twice): not kept
                self._unsaved.pop()
                raise
            return written[-1]

    def retry_writes(self) -> list[Event]:
        """After a failed write: write the events kept in memory into the outbox (returned), or,
        with none kept, a probe, so :attr:`write_error` clears once the disk works again."""
        with self._lock:
            if self._unsaved:
                return self._write_unsaved()
            if self.write_error:
                with self._tx() as db:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('write_probe', '1')")
            return []

    def unsaved_count(self) -> int:
        with self._lock:
            return len(self._unsaved)

    def _write_unsaved(self) -> list[Event]:
        with self._tx() as db:  # on StoreError the events stay in memory
            written = [self._append(db, kind, at, **f) for kind, at, f in self._unsaved]
        self._unsaved.clear()
        if len(written) > 1:
            logger.warning("%d event(s) kept in memory are in the outbox now", len(written))
        return written

    def cut_off_playback(self) -> dict[str, object] | None:
        """What was playing when the process died (None after a clean stop)."""
        rows = self._query(
            "SELECT item_id, announcement_id, scheduled_at, command, started_at FROM playing"
        )
        if not rows:
            return None
        item_id, ann, sched, command, started = rows[0]
        return {
            "item_id": item_id,
            "announcement_id": ann,
            "scheduled_at": sched,
            "command": command,
            "started_at": started,
        }

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
