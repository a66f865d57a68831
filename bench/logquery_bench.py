"""Benchmark: the officers' common log views on a year of a province, on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.logquery_bench [--rows 10000000] [--db sqlite,postgresql]

Generates ``--rows`` playback rows shaped like 2,000 sites × 14 items a day (over as many days
as the row count needs; 10 M ≈ one year): COPY on PostgreSQL, executemany in big transactions
on SQLite, indexes built after the load, then ANALYZE. Each view runs ``--runs`` times with
varying parameters through broadcaster.queries.logs.page (the page query plus the capped count),
exactly what the web page and the API run. The bare figure, in the same run, is a raw SQL
SELECT of one day's newest 50 rows from the playbacks table alone (no joins, no count).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.models import Playback, User
from broadcaster.queries.health import site_health
from broadcaster.queries.logs import LogFilter, page
from broadcaster.queries.reports import ReportFilter, report
from broadcaster.scope import Scope

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TZ = "Asia/Ho_Chi_Minh"
# Issue 11's province: 300 communes × 15 sites (3 zones of 5); 6 airings a site a day, so
# 10 M rows ≈ a year (issue 12's province-year).
COMMUNES, ZONES_PER_COMMUNE, SITES_PER_ZONE, ITEMS_PER_DAY = 300, 3, 5, 6
SITES = COMMUNES * ZONES_PER_COMMUNE * SITES_PER_ZONE
PRIORITIES = ("normal", "normal", "priority", "emergency")  # announcement a: PRIORITIES[a % 4]
ANNOUNCEMENTS, CAMPAIGNS = 6000, 12
CATEGORIES = ("giam-ngheo", "y-te", "thien-tai", "hanh-chinh", "sinh-ke", "khac")
FIRST_DAY = date(2025, 12, 1)
INDEXES = (
    "ix_playbacks_scheduled_at",
    "ix_playbacks_site_scheduled",
    "ix_playbacks_announcement_scheduled",
    "ix_playbacks_status_scheduled",
    "ix_playbacks_unit_scheduled",
    "ix_playbacks_priority_scheduled",
    "ix_playbacks_announcement_id",
    "uq_playback_site_item",
)


def statuses(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.93:
        return "finished"
    return ("failed", "interrupted", "skipped", "expired", "rejected", "scheduled", "finished")[
        int((r - 0.93) * 100)
    ]


def rows(n: int, seed: int = 6) -> Iterator[tuple]:
    """(id, site_id, item_id, announcement_id, scheduled_at, started_at, finished_at, status,
    detail, updated_at), day by day, site by site."""
    rng = random.Random(seed)
    i = 0
    day = 0
    slots = [timedelta(hours=5, minutes=30) + timedelta(minutes=150 * k) for k in range(6)]
    while True:
        base = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), UTC)
        base -= timedelta(hours=7)  # local midnight in UTC
        anns = [rng.randrange(1, ANNOUNCEMENTS + 1) for _ in range(ITEMS_PER_DAY * 4)]
        for s in range(SITES):
            commune = s // (SITES_PER_ZONE * ZONES_PER_COMMUNE)
            for k, slot in enumerate(slots):
                i += 1
                if i > n:
                    return
                ann = anns[(commune * 7 + k) % len(anns)]
                at = (base + slot).replace(tzinfo=None)
                st = statuses(rng)
                started = at + timedelta(seconds=1) if st in ("finished", "interrupted") else None
                finished = at + timedelta(seconds=95) if started else None
                yield (i, f"site-{s:04d}", f"s{ann}-{int((base + slot).timestamp())}", ann, at,
                       started, finished, st, "", at, commune + 2, PRIORITIES[ann % 4])  # fmt: skip
        day += 1


def setup_reference(engine: Engine) -> None:
    """Communes, zones, sites, campaigns and announcements the rows point at."""
    with engine.begin() as c:
        # Units: the province (id 1) and commune k (id k + 2), as rows() numbers them.
        c.execute(text("INSERT INTO units (id, kind, code, name) VALUES (1, 'province', 'p', "
                       "'Tỉnh')"))  # fmt: skip
        c.execute(
            text("INSERT INTO units (id, parent_id, kind, code, name) "
                 "VALUES (:id, 1, 'commune', :code, :n)"),
            [{"id": k + 2, "code": f"c{k}", "n": f"Xã {k}"} for k in range(COMMUNES)],
        )  # fmt: skip
        c.execute(text("INSERT INTO users (id, username, display_name, password_hash, role, "
                       "active, created_at, unit_id) VALUES (1, 'b', 'b', 'x', 'editor', true, "
                       ":t, 1)"), {"t": datetime(2025, 1, 1)})  # fmt: skip
        c.execute(text("INSERT INTO users (id, username, display_name, password_hash, role, "
                       "active, created_at, unit_id) VALUES (2, 'c', 'c', 'x', 'officer', true, "
                       ":t, 2)"), {"t": datetime(2025, 1, 1)})  # fmt: skip
        zones = SITES // SITES_PER_ZONE
        c.execute(
            text("INSERT INTO zones (id, name, language, unit_id) VALUES (:id, :n, 'vi', :u)"),
            [{"id": f"z{z:03d}", "n": f"Thôn {z}", "u": z // ZONES_PER_COMMUNE + 2}
             for z in range(zones)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO sites (id, name, output, state, reported_plan_version, "
                 "agent_version, last_error, unit_id) VALUES (:id, :n, 'amplifier', 'online', "
                 "0, '', '', :u)"),
            [{"id": f"site-{s:04d}", "n": f"Cụm loa {s}",
              "u": s // (SITES_PER_ZONE * ZONES_PER_COMMUNE) + 2} for s in range(SITES)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO site_zones (site_id, zone_id) VALUES (:s, :z)"),
            [{"s": f"site-{s:04d}", "z": f"z{s // SITES_PER_ZONE:03d}"} for s in range(SITES)],
        )
        c.execute(
            text("INSERT INTO campaigns (id, name, category, description, starts_on, ends_on, "
                 "target_per_week, created_at, unit_id) VALUES (:id, :n, :c, '', :a, :b, 7, :t, "
                 "1)"),
            [{"id": k + 1, "n": f"Chiến dịch {k + 1}", "c": CATEGORIES[k % 6],
              "a": date(2025, 12, 1), "b": date(2026, 11, 30), "t": datetime(2025, 1, 1)}
             for k in range(CAMPAIGNS)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO announcements (id, title, body, category, priority, status, "
                 "author_id, created_at, reject_reason, tts_engine, campaign_id, unit_id) VALUES "
                 "(:id, :t, '', :c, :p, 'approved', 1, :at, '', '', :camp, 1)"),
            [{"id": a, "t": f"Bản tin {a}", "c": CATEGORIES[a % 6],
              "p": PRIORITIES[a % 4], "at": datetime(2025, 1, 1),
              "camp": (a % CAMPAIGNS) + 1 if a % 3 else None}
             for a in range(1, ANNOUNCEMENTS + 1)],
        )  # fmt: skip


COLS = ("id, site_id, item_id, announcement_id, scheduled_at, started_at, finished_at, status, "
        "detail, updated_at, unit_id, priority")  # fmt: skip


def load(engine: Engine, n: int) -> float:
    """Load n rows with the indexes dropped, rebuild them, ANALYZE; seconds taken."""
    t = time.perf_counter()
    with engine.begin() as c:
        for ix in INDEXES:
            if ix.startswith("uq_"):
                if engine.dialect.name == "postgresql":
                    c.execute(text(f"ALTER TABLE playbacks DROP CONSTRAINT {ix}"))
            else:
                c.execute(text(f"DROP INDEX {ix}"))
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY playbacks ({COLS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in rows(n):
                    copy.write_row(r)
            raw.commit()
        finally:
            raw.close()
    else:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            batch: list[tuple] = []
            sql = f"INSERT INTO playbacks ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            for r in rows(n):
                batch.append(tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r))
                if len(batch) >= 200_000:
                    cur.executemany(sql, batch)
                    raw.commit()
                    batch.clear()
            cur.executemany(sql, batch)
            raw.commit()
        finally:
            raw.close()
    loaded = time.perf_counter() - t
    with engine.begin() as c:
        for ix in Playback.__table__.indexes:
            ix.create(c)
        if engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE playbacks ADD CONSTRAINT uq_playback_site_item "
                           "UNIQUE (site_id, item_id)"))  # fmt: skip
        else:
            c.execute(text("CREATE UNIQUE INDEX uq_playback_site_item ON playbacks "
                           "(site_id, item_id)"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE"))
    print(f"  loaded {n:,} rows in {loaded:.0f} s ({n / loaded:,.0f} rows/s); "
          f"indexes + ANALYZE {time.perf_counter() - t - loaded:.0f} s")  # fmt: skip
    return loaded


def views(days: int, rng: random.Random) -> dict[str, Callable[[], LogFilter]]:
    def day() -> date:
        return FIRST_DAY + timedelta(days=rng.randrange(days))

    def span(n: int) -> tuple[date, date]:
        d = FIRST_DAY + timedelta(days=rng.randrange(max(1, days - n)))
        return d, d + timedelta(days=n - 1)

    def site() -> str:
        return f"site-{rng.randrange(SITES):04d}"

    return {
        "newest (no filter)": lambda: LogFilter(),
        "one day": lambda: LogFilter(start=(d := day()), end=d),
        "one day, page 20": lambda: LogFilter(start=(d := day()), end=d, page=20),
        "site, one month": lambda: LogFilter(*span(30), site=site()),
        "site, all time": lambda: LogFilter(site=site()),
        "failed, one week": lambda: LogFilter(*span(7), status="failed"),
        "announcement, all time": lambda: LogFilter(announcement=rng.randrange(1, ANNOUNCEMENTS)),
        "zone, one day": lambda: LogFilter(
            start=(d := day()), end=d, zone=f"z{rng.randrange(SITES // SITES_PER_ZONE):03d}"
        ),  # fmt: skip
        "commune, one week": lambda: LogFilter(*span(7), commune=f"Xã {rng.randrange(COMMUNES)}"),
        "category, one week": lambda: LogFilter(*span(7), category=rng.choice(CATEGORIES)),
        "campaign, one month": lambda: LogFilter(*span(30), campaign=rng.randrange(1, CAMPAIGNS)),
        "emergency, one month": lambda: LogFilter(*span(30), priority="emergency"),
    }


def extras(days: int) -> dict[str, Callable[[Session, Scope | None], object]]:
    """The other officers' pages: site health of every site, and period reports."""
    last = FIRST_DAY + timedelta(days=days - 1)
    now = datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=12)
    return {
        "site health, all 2,000 sites": lambda s, sc: site_health(s, now, scope=sc),
        "report, one month": lambda s, sc: report(
            s, ReportFilter(last - timedelta(days=29), last), TZ, sc
        ),
        "report, one year": lambda s, sc: report(s, ReportFilter(FIRST_DAY, last), TZ, sc),
    }


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


# Who asks (issue 11): nobody (no scope), the province's officer, one commune's officer. The
# scoped figures include finding the user's scope (Scope.of), as every web request does.
WHO = {"no scope": None, "province": 1, "commune": 2}


def scoped(s: Session, who: int | None) -> Scope | None:
    return None if who is None else Scope.of(s, s.get(User, who))  # type: ignore[arg-type]


def measure(
    engine: Engine, days: int, runs: int
) -> tuple[dict[str, dict[str, tuple[float, float]]], float]:
    factory = session_factory(engine)
    rng = random.Random(7)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for name, make in views(days, rng).items():
        filters = [make() for _ in range(runs)]
        out[name] = {}
        for label, who in WHO.items():
            times = []
            for f in filters:
                with factory() as s:
                    t = time.perf_counter()
                    page(s, f, TZ, scoped(s, who))
                    times.append((time.perf_counter() - t) * 1000)
            out[name][label] = (statistics.median(times), pct(times, 0.95))
    for name, run in extras(days).items():
        out[name] = {}
        for label, who in WHO.items():
            times = []
            for _ in range(max(3, runs // 5)):
                with factory() as s:
                    t = time.perf_counter()
                    run(s, scoped(s, who))
                    times.append((time.perf_counter() - t) * 1000)
            out[name][label] = (statistics.median(times), pct(times, 0.95))
    bare = []
    with engine.connect() as c:
        for _ in range(runs):
            d = FIRST_DAY + timedelta(days=rng.randrange(days))
            lo = datetime.combine(d, datetime.min.time()) - timedelta(hours=7)
            t = time.perf_counter()
            c.execute(
                text("SELECT id, site_id, scheduled_at, status FROM playbacks WHERE "
                     "scheduled_at >= :lo AND scheduled_at < :hi ORDER BY scheduled_at DESC "
                     "LIMIT 50"), {"lo": lo, "hi": lo + timedelta(days=1)},
            ).all()  # fmt: skip
            bare.append((time.perf_counter() - t) * 1000)
    return out, statistics.median(bare)


def report_run(engine: Engine, days: int, runs: int) -> None:
    res, bare = measure(engine, days, runs)
    print(f"  bare SELECT of one day's newest 50 rows: p50 {bare:.1f} ms")
    for name, by in res.items():
        print(f"  | {name} | {by} |")


def fresh(kind: str, where: Path, keep: bool, n: int) -> tuple[str, str | None, bool]:
    """A migrated database: (url, PostgreSQL schema, already loaded). With ``keep``, a loaded
    database of the same size from an earlier run is used again (and kept for the next)."""
    if kind == "sqlite":
        path = where / f"logs-{n}.sqlite3"
        url = f"sqlite:///{path}"
        loaded = keep and path.exists()
        upgrade(url)
        return url, None, loaded
    import psycopg

    schema = f"bench_logs_{n}" if keep else f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
        if not found:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema, bool(found)


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (default: a temp dir)")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the loaded databases (the SQLite file in --dir, the PostgreSQL schema "
        "bench_logs_<rows>) and use them again on the next run with the same --rows",
    )
    ap.add_argument("--load-only", action="store_true", help="load (with --keep), do not measure")
    args = ap.parse_args()
    if args.keep and not args.dir:
        ap.error("--keep needs --dir")
    days = max(1, args.rows // (SITES * ITEMS_PER_DAY))
    print(f"{platform.machine()}, Python {platform.python_version()}; {args.rows:,} rows "
          f"= {COMMUNES} communes × {SITES // COMMUNES} sites × {ITEMS_PER_DAY}/day × {days} "
          f"days; {args.runs} runs per view")  # fmt: skip
    with contextlib.ExitStack() as stack:
        where = Path(args.dir) if args.keep else Path(stack.enter_context(
            tempfile.TemporaryDirectory(dir=args.dir)))  # fmt: skip
        for kind in args.db.split(","):
            url, schema, loaded = fresh(kind, where, args.keep, args.rows)
            engine = make_engine(url)
            try:
                print(f"{kind}:")
                if not loaded:
                    setup_reference(engine)
                    load(engine, args.rows)
                if not args.load_only:
                    report_run(engine, days, args.runs)
            finally:
                engine.dispose()
                if schema and not args.keep:
                    drop_schema(schema)


if __name__ == "__main__":
    main()
