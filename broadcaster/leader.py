"""Exactly one scheduler: a lock that one process holds while the others wait as hot standbys.

On PostgreSQL the lock is a session-level advisory lock on a connection the leader keeps open;
on SQLite it is an exclusive ``flock`` on a file beside the database. Either is released by the
operating system or the database when the holder dies (even on SIGKILL), so a standby that
polls every ``poll_s`` seconds takes over within that time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

# pg_advisory_lock's two-int key: this fixed class, and a checksum of the database and schema
# (one scheduler per schema: tests and the demo keep installations apart by schema).
ADVISORY_CLASS = 0x6272_6F61  # "broa"
DEFAULT_POLL_S = 2.0


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if free; True when this process holds it (again)."""
        ...

    def held(self) -> bool:
        """Whether this process still holds the lock (False after its connection broke)."""
        ...

    def release(self) -> None: ...


def _holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class FileLock:
    """An exclusive ``flock`` on ``path`` (SQLite: one machine); the file names the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(_holder() + "\n")
        f.flush()
        self._file = f
        return True

    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, kept open while held."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        conn = self.engine.connect()
        try:
            self.key = self._key(conn)
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:c, :k)"),
                    {"c": ADVISORY_CLASS, "k": self.key},
                ).scalar()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    @staticmethod
    def _key(conn: Connection) -> int:
        where = conn.execute(text("SELECT current_database() || '.' || current_schema()")).scalar()
        key = zlib.crc32(str(where).encode())
        return key - (1 << 32) if key >= 1 << 31 else key  # a signed int4

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            logger.exception("the scheduler lock's connection broke")
            self._drop()
            return False

    def holder(self) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT a.client_addr, a.pid FROM pg_locks l JOIN pg_stat_activity a"
                    " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                    " AND l.classid::bigint = :c AND l.objid::bigint = (:k)::bigint & 4294967295"
                ),
                {"c": ADVISORY_CLASS, "k": self._key(conn)},
            ).first()
        return f"backend pid {row.pid} from {row.client_addr or 'local socket'}" if row else ""

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - the connection is already gone
                logger.debug("closing the lock's broken connection failed", exc_info=True)
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:c, :k)"), {"c": ADVISORY_CLASS, "k": self.key}
                )
                self._conn.commit()
            except Exception:  # noqa: BLE001 - closing the connection releases it anyway
                logger.debug("unlocking failed; closing the connection", exc_info=True)
        self._drop()
        self.engine.dispose()


def lock_for(database_url: str) -> FileLock | AdvisoryLock:
    """The scheduler lock for this database: advisory on PostgreSQL, a file lock on SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database + ".scheduler.lock"))
    raise ValueError(f"no scheduler lock for {url.get_backend_name()} databases")


class Leadership:
    """Polls ``lock`` in a thread; calls ``on_elected`` once it holds it and ``on_deposed`` if
    it loses it (its database connection broke), then waits to be elected again."""

    def __init__(
        self,
        lock: FileLock | AdvisoryLock,
        on_elected: Callable[[], None],
        on_deposed: Callable[[], None],
        poll_s: float = DEFAULT_POLL_S,
        name: str = "scheduler",
    ) -> None:
        self.lock = lock
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.poll_s = poll_s
        self.name = name
        self.leading = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-leadership", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _try(self) -> bool:
        try:
            return self.lock.try_acquire()
        except Exception:  # the database is down: a standby keeps trying
            logger.exception("cannot reach the database for the %s lock", self.name)
            return False

    def _run(self) -> None:
        announced_standby = False
        while not self._stopping.is_set():
            if not self.leading.is_set():
                if self._try():
                    logger.info("%s: elected, this process holds the lock", self.name)
                    self.leading.set()
                    try:
                        self.on_elected()
                    except Exception:
                        logger.exception("%s failed to start; releasing the lock", self.name)
                        self.leading.clear()
                        self.lock.release()
                elif not announced_standby:
                    holder = getattr(self.lock, "holder", lambda: "")()
                    logger.warning(
                        "%s: standby, another %s holds the lock%s; taking over when it stops",
                        self.name,
                        self.name,
                        f" ({holder})" if holder else "",
                    )
                    announced_standby = True
            elif not self.lock.held():
                logger.error("%s: lost the lock, stopping until elected again", self.name)
                self.leading.clear()
                announced_standby = False
                self._deposed()
            self._stopping.wait(self.poll_s)

    def _deposed(self) -> None:
        try:
            self.on_deposed()
        except Exception:
            logger.exception("%s failed to stop", self.name)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(self.poll_s + 10)
        if self.leading.is_set():
            self.leading.clear()
            self._deposed()
        self.lock.release()
