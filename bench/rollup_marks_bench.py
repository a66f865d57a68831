"""Benchmark: what the roll-up mark triggers (migration 0016) add to ingest's playback writes,
on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.rollup_marks_bench [--rows 20000] [--batch 500] [--db sqlite,postgresql]

Ingest folds a batch of events into the playback rows and writes them with
``broadcaster.ingest.write_log_rows`` (an executemany UPDATE until migration 0027; since then one
``UPDATE … FROM unnest`` on PostgreSQL, whose marks are statement triggers). This bench makes ``--rows`` scheduled rows over 300
communes and a week, then updates them all to ``finished`` in batches of ``--batch`` rows per
transaction in random order, the way ingest does: once with the triggers (marks written), and,
as the bare part in the same run, once with them off (PostgreSQL: session_replication_role =
replica; SQLite: the triggers dropped). Alternating rounds; the median of each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from broadcaster.db import make_engine, upgrade
from broadcaster.ingest import write_log_rows

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def setup(engine: Engine, n: int) -> None:
    with engine.begin() as c:
        c.execute(text("INSERT INTO units (id, kind, code, name) VALUES (1, 'province', 'p', 'T')"))
        c.execute(
            text("INSERT INTO units (id, parent_id, kind, code, name) VALUES (:i, 1, 'commune', :c, :c)"),
            [{"i": k + 2, "c": f"c{k}"} for k in range(300)],
        )  # fmt: skip
        c.execute(
            text(
                "INSERT INTO playbacks (id, site_id, item_id, scheduled_at, status, detail, "
                "updated_at, verified, unit_id) VALUES (:id, :s, :i, :at, 'scheduled', '', :at, "
                "true, :u)"
            ),
            [
                {
                    "id": k + 1,
                    "s": f"s{k % 4500}",
                    "i": f"i{k}",
                    "at": (T0 + timedelta(minutes=(k // 4500) * 150)).replace(tzinfo=None),
                    "u": k % 300 + 2,
                }
                for k in range(n)
            ],
        )


def round_(engine: Engine, n: int, batch: int, status: str, marks: bool, sql: str) -> float:
    ids = list(range(1, n + 1))
    random.Random(status).shuffle(ids)
    now = datetime.now(UTC)
    t = time.perf_counter()
    for lo in range(0, n, batch):
        with engine.begin() as c:
            if not marks and engine.dialect.name == "postgresql":
                c.execute(text("SET LOCAL session_replication_role = replica"))
            write_log_rows(
                c,
                [
                    {
                        "id": i,
                        "scheduled_at": T0 + timedelta(minutes=((i - 1) // 4500) * 150),
                        "started_at": now,
                        "finished_at": now,
                        "status": status,
                        "detail": "",
                        "updated_at": now,
                        "unit_id": (i - 1) % 300 + 2,
                    }
                    for i in ids[lo : lo + batch]
                ],
            )
    elapsed = time.perf_counter() - t
    with engine.begin() as c:
        c.execute(text("DELETE FROM report_marks"))
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db", default="sqlite,postgresql")
    args = ap.parse_args()
    print(f"{args.rows:,} playback rows updated in batches of {args.batch}, {args.rounds} rounds")
    print("| database | with marks (rows/s) | bare, triggers off (rows/s) | cost |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as d:
        for kind in args.db.split(","):
            schema = None
            if kind == "sqlite":
                url = f"sqlite:///{Path(d)}/marks.sqlite3"
            else:
                import psycopg

                schema = f"bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                url = f"{PG}?options=-csearch_path%3D{schema}"
            upgrade(url)
            engine = make_engine(url)
            try:
                setup(engine, args.rows)
                triggers: list[tuple[str, str]] = []
                if kind == "sqlite":
                    with engine.connect() as c:
                        triggers = c.execute(text(
                            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'playbacks' AND name LIKE 'report_mark%'"
                        )).all()  # fmt: skip
                on, off = [], []
                for r in range(args.rounds):
                    on.append(round_(engine, args.rows, args.batch, f"a{r}", True, ""))
                    if triggers:
                        with engine.begin() as c:
                            for name, _ in triggers:
                                c.execute(text(f"DROP TRIGGER {name}"))
                    off.append(round_(engine, args.rows, args.batch, f"b{r}", False, ""))
                    if triggers:
                        with engine.begin() as c:
                            for _, ddl in triggers:
                                c.execute(text(ddl))
                a, b = statistics.median(on), statistics.median(off)
                print(f"| {kind} | {args.rows / a:,.0f} | {args.rows / b:,.0f} | "
                      f"+{100 * (a - b) / b:.0f} % time |")  # fmt: skip
            finally:
                engine.dispose()
                if schema:
                    import psycopg

                    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
