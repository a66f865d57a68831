"""The roll-up marks that writes to ``playbacks`` leave, statement by statement, on SQLite (row
triggers, migration 0016) and PostgreSQL (statement triggers over transition tables, 0027):
the same (unit, UTC day) set on both, for inserts, updates that change a watched column or not,
updates that move a row to another unit or day, and deletes, in bulk as ingest writes them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from broadcaster.db import make_engine
from broadcaster.models import Playback, ReportMark

LOGS = Playback.__table__
A, B = 901, 902  # units made here
D1 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # its UTC day is what is marked
D2 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
D3 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
Step = Callable[[Connection], object]


def _row(item: str, unit: int | None, at: datetime | None) -> dict[str, object]:
    return {
        "site_id": "s1",
        "item_id": item,
        "announcement_id": 1,
        "scheduled_at": at,
        "status": "scheduled",
        "detail": "",
        "updated_at": D1,
        "verified": True,
        "unit_id": unit,
    }


def _set(item: str, **values: object) -> Step:
    return lambda c: c.execute(update(LOGS).where(LOGS.c.item_id == item).values(**values))


def _bulk_status(c: Connection) -> None:
    """Ingest's shape: one executemany UPDATE, one row unchanged."""
    stmt = (
        update(LOGS)
        .where(LOGS.c.item_id == bindparam("b_item"))
        .values(status=bindparam("status"), detail=bindparam("detail"))
    )
    c.execute(
        stmt,
        [
            {"b_item": "r2", "status": "finished", "detail": "x"},
            {"b_item": "r4", "status": "scheduled", "detail": "only the detail"},
            {"b_item": "r5", "status": "failed", "detail": ""},
        ],
    )


STEPS: list[tuple[str, Step, set[tuple[int, date]]]] = [
    (
        "insert, one statement",
        lambda c: c.execute(
            insert(LOGS),
            [
                _row("r1", A, D1),
                _row("r2", B, D1),
                _row("r3", None, D2),
                _row("r4", A, None),
                _row("r5", B, D3),
            ],
        ),
        {(A, D1.date()), (B, D1.date()), (0, D2.date()), (B, D3.date())},
    ),
    ("unwatched columns only", lambda c: c.execute(update(LOGS).values(detail="d")), set()),
    ("a watched column, same day", _set("r1", status="started"), {(A, D1.date())}),
    (
        "moved to another unit and day",
        _set("r2", unit_id=A, scheduled_at=D2),
        {(A, D2.date()), (B, D1.date())},
    ),
    ("its day removed", _set("r3", scheduled_at=None), {(0, D2.date())}),
    ("a day given", _set("r4", scheduled_at=D3), {(A, D3.date())}),
    ("bulk, as ingest writes", _bulk_status, {(A, D2.date()), (B, D3.date())}),
    ("same values", lambda c: c.execute(update(LOGS).values(status=LOGS.c.status)), set()),
    ("no row", _set("none", status="failed"), set()),
    (
        "delete",
        lambda c: c.execute(delete(LOGS).where(LOGS.c.item_id.in_(["r1", "r3", "r4"]))),
        {(A, D1.date()), (A, D3.date())},
    ),
]


@pytest.fixture
def conn(any_db_url: str) -> Iterator[Connection]:
    engine = make_engine(any_db_url)
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO units (id, kind, code, name) VALUES (:i, 'commune', :c, :c)"),
            [{"i": A, "c": "marks-a"}, {"i": B, "c": "marks-b"}],
        )
        c.execute(delete(ReportMark))
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_each_write_marks_the_days_it_changes(conn: Connection) -> None:
    for name, step, expected in STEPS:
        with conn.begin():
            step(conn)
            marks = {(u, d) for u, d in conn.execute(select(ReportMark.unit_id, ReportMark.day))}
            conn.execute(delete(ReportMark))
        assert marks == expected, name
