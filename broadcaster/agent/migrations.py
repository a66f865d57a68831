"""The schema of the agent's SQLite store, as an ordered list of migration steps.

The file's ``PRAGMA user_version`` counts the steps it has had. Opening a store runs the missing
steps in order, each in its own transaction together with the new version number, so a power
cut during an upgrade leaves the file at the previous version, to be upgraded at the next start.
Stores made before versioning (``user_version`` 0) hold exactly the tables of step 1, which
creates them only where they are missing.

To change the schema, append a step (SQL through :func:`sql`, or a function of the connection
for data that needs Python); never edit a step that has shipped: thousands of Pis have run it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

Step = Callable[[sqlite3.Connection], None]


class SchemaError(RuntimeError):
    """The store file was written by a newer agent than this one."""

    def __init__(self, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the agent store is at schema version {found}, newer than this agent's {known}: "
            "upgrade the agent (or move the state directory aside)"
        )


def sql(*statements: str) -> Step:
    """A step made of SQL statements, run one by one (``executescript`` would commit)."""

    def step(db: sqlite3.Connection) -> None:
        for statement in statements:
            db.execute(statement)

    return step


V1_TABLES = sql(
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS plan (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        payload TEXT NOT NULL,
        saved_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS media (
        sha256 TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        fetched_at TEXT NOT NULL,
        used_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        sent_at REAL
    )""",
    """CREATE TABLE IF NOT EXISTS handled (
        item_id TEXT PRIMARY KEY,
        start TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS commands (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        action TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        topics TEXT NOT NULL,
        payload TEXT NOT NULL,
        outcome TEXT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS playing (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        item_id TEXT NOT NULL,
        announcement_id INTEGER,
        scheduled_at TEXT,
        command TEXT,
        started_at TEXT NOT NULL
    )""",
)

MIGRATIONS: tuple[Step, ...] = (V1_TABLES,)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, steps: Sequence[Step] = MIGRATIONS) -> int:
    """Run the steps the store has not had yet; return the version it had before.

    ``db`` must be in autocommit mode (``isolation_level=None``): each step runs in its own
    ``BEGIN IMMEDIATE`` transaction. Raises :class:`SchemaError` for a file newer than ``steps``.
    """
    before = schema_version(db)
    if before > len(steps):
        raise SchemaError(before, len(steps))
    for version in range(before + 1, len(steps) + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) < version:  # not done meanwhile by another process
                steps[version - 1](db)
                db.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    if before < len(steps):
        logger.info("agent store schema upgraded from version %d to %d", before, len(steps))
    return before
