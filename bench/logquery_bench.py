"""Benchmark: the officers' common log views on a year of a province, on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.logquery_bench [--rows 10000000] [--db sqlite,postgresql]
     [--keep --dir DIR] [--others]

Generates ``--rows`` playback rows shaped like issue 11's province, 300 communes × 15 sites,
6 airings a site a day (10 M ≈ one year): COPY on PostgreSQL, executemany in big transactions
on SQLite, indexes built after the load, then ANALYZE (VACUUM ANALYZE on PostgreSQL, as
autovacuum would do); with ``--keep`` the loaded databases stay for the next run. Each view runs ``--runs`` times with varying parameters through
broadcaster.queries.logs.page (the page query, the cursor lookup, the capped count), exactly
what the web page and the API run, asked four ways: without a scope, as the province's officer,
as one commune's officer, and without a scope for that same commune (``commune`` filter). The
bare figure, in the same run, is the same filter's page of ids from the playbacks table alone
(no joins, no count).
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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, or_, select, text
from sqlalchemy.orm import Session

from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.models import Playback, User
from broadcaster.queries.health import site_health
from broadcaster.queries.logs import LogFilter, filtered, page
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
    "ix_playbacks_status_scheduled_priority",
    "ix_playbacks_unit_scheduled_status_priority",
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
    """Load n rows with the indexes and the roll-up triggers off (their marks are for writes one
    at a time: rebuild the roll-ups after), rebuild the indexes, ANALYZE; seconds taken."""
    t = time.perf_counter()
    with engine.begin() as c:
        triggers = [] if engine.dialect.name == "postgresql" else c.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'playbacks' "
            "AND type = 'trigger'"
        )).all()  # fmt: skip
        for name, _ in triggers:
            c.execute(text(f"DROP TRIGGER {name}"))
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
            cur.execute("SET session_replication_role = replica")  # no triggers
            with cur.copy(f"COPY playbacks ({COLS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in rows(n):
                    copy.write_row(r)
            cur.execute("SET session_replication_role = DEFAULT")
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
        for _, ddl in triggers:
            c.execute(text(ddl))
        for ix in Playback.__table__.indexes:
            ix.create(c)
        if engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE playbacks ADD CONSTRAINT uq_playback_site_item "
                           "UNIQUE (site_id, item_id)"))  # fmt: skip
        else:
            c.execute(text("CREATE UNIQUE INDEX uq_playback_site_item ON playbacks "
                           "(site_id, item_id)"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # PostgreSQL: VACUUM too, as autovacuum does after a bulk insert (index-only scans need
        # the visibility map; the counts use them).
        c.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    print(f"  loaded {n:,} rows in {loaded:.0f} s ({n / loaded:,.0f} rows/s); "
          f"indexes + ANALYZE {time.perf_counter() - t - loaded:.0f} s")  # fmt: skip
    return loaded


def views(days: int, rng: random.Random) -> dict[str, Callable[[], LogFilter]]:
    """The officers' common views (issue 12): each filter of the log page and the API alone,
    the period, a few combinations, search, and paging (offset and cursor)."""

    def day() -> date:
        return FIRST_DAY + timedelta(days=rng.randrange(days))

    def span(n: int) -> tuple[date, date]:
        d = FIRST_DAY + timedelta(days=rng.randrange(max(1, days - n)))
        return d, d + timedelta(days=n - 1)

    def site() -> str:
        return f"site-{rng.randrange(SITES):04d}"

    def zone() -> str:
        return f"z{rng.randrange(SITES // SITES_PER_ZONE):03d}"

    def commune() -> str:
        return f"Xã {rng.randrange(COMMUNES)}"

    return {
        "newest (no filter)": lambda: LogFilter(),
        "one day": lambda: LogFilter(start=(d := day()), end=d),
        "one month": lambda: LogFilter(*span(30)),
        "one day, page 20 (offset)": lambda: LogFilter(start=(d := day()), end=d, page=20),
        "one month, page 20 (cursor)": lambda: LogFilter(*span(30), after=PAGE_20),
        "site, one month": lambda: LogFilter(*span(30), site=site()),
        "site, all time": lambda: LogFilter(site=site()),
        "zone, one week": lambda: LogFilter(*span(7), zone=zone()),
        "commune, one week": lambda: LogFilter(*span(7), commune=commune()),
        "commune, all time": lambda: LogFilter(commune=commune()),
        "status failed, one week": lambda: LogFilter(*span(7), status="failed"),
        "status failed, all time": lambda: LogFilter(status="failed"),
        "priority emergency, one month": lambda: LogFilter(*span(30), priority="emergency"),
        "priority emergency, all time": lambda: LogFilter(priority="emergency"),
        "priority + status failed, one month": lambda: LogFilter(
            *span(30), priority="priority", status="failed"
        ),
        "commune + priority, one month": lambda: LogFilter(
            *span(30), commune=commune(), priority="emergency"
        ),
        "announcement, all time": lambda: LogFilter(announcement=rng.randrange(1, ANNOUNCEMENTS)),
        "category, one week": lambda: LogFilter(*span(7), category=rng.choice(CATEGORIES)),
        "campaign, one month": lambda: LogFilter(*span(30), campaign=rng.randrange(1, CAMPAIGNS)),
        "search a title, one month": lambda: LogFilter(
            *span(30), q=f"Bản tin {rng.randrange(100, 1000)}"
        ),
        "search a site, all time": lambda: LogFilter(q=f"Cụm loa {rng.randrange(SITES)}"),
    }


PAGE_20 = -1  # placeholder: the cursor of page 20, found (untimed) before the view is timed


def page_20(session: Session, f: LogFilter) -> LogFilter:
    """``f`` with ``after`` at the 20th page's cursor, found by paging through (not timed)."""
    g = replace(f, after=None)
    for _ in range(19):
        p = page(session, g, TZ)
        if p.next_after is None:
            break
        g = replace(g, after=p.next_after)
    return g


def others(days: int) -> dict[str, Callable[[Session, Scope | None], object]]:
    """The other officers' pages (``--others``): site health of every site, period reports."""
    last = FIRST_DAY + timedelta(days=days - 1)
    now = datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=12)
    return {
        f"site health, all {SITES:,} sites": lambda s, sc: site_health(s, now, scope=sc),
        "report, one month": lambda s, sc: report(
            s, ReportFilter(last - timedelta(days=29), last), TZ, sc
        ),
        "report, one year": lambda s, sc: report(s, ReportFilter(FIRST_DAY, last), TZ, sc),
    }


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


# Who asks (issue 11): nobody (no scope), the province's officer (every unit: nothing is
# filtered), one commune's officer. The scoped figures include finding the user's scope
# (Scope.of), as every web request does. The commune officer's views are compared with the
# same view for the same commune without a scope (the ``commune`` filter instead).
PROVINCE_OFFICER, COMMUNE_OFFICER, OFFICERS_COMMUNE = 1, 2, "Xã 0"


def scoped(s: Session, who: int | None) -> Scope | None:
    return None if who is None else Scope.of(s, s.get(User, who))  # type: ignore[arg-type]


@dataclass
class Timing:
    """One view's figures in ms: p50 and p95 of each way of asking."""

    runs: dict[str, list[float]]

    def p50(self, way: str) -> float:
        return statistics.median(self.runs[way])

    def p95(self, way: str) -> float:
        return pct(self.runs[way], 0.95)


def bare(session: Session, f: LogFilter) -> None:
    """The bare part of a view: the ids of its page from the playbacks table alone (the same
    filter, order and cursor), without the joins for the names, the cursor lookup or the count."""
    q = filtered(session, f, TZ).order_by(Playback.scheduled_at.desc(), Playback.id.desc())
    if f.after is not None:
        at = session.scalar(select(Playback.scheduled_at).where(Playback.id == f.after))
        q = q.where(
            Playback.scheduled_at <= at,
            or_(Playback.scheduled_at != at, Playback.id < f.after),
        )
    session.execute(q.limit(f.per_page).offset((f.page - 1) * f.per_page)).all()


def timed(factory: Callable[[], Session], run: Callable[[Session], object]) -> float:
    with factory() as s:
        # The officers, loaded before the clock starts (the login does it on every request,
        # scoped or not); Scope.of, which finds their units, is timed.
        s.get(User, PROVINCE_OFFICER), s.get(User, COMMUNE_OFFICER)
        t = time.perf_counter()
        run(s)
        return (time.perf_counter() - t) * 1000


def measure(engine: Engine, days: int, runs: int, with_others: bool) -> dict[str, Timing]:
    """Every view ``runs`` times with random parameters, each way of asking interleaved (so a
    burst of load on the machine hits them alike)."""
    factory = session_factory(engine)
    rng = random.Random(7)
    out: dict[str, Timing] = {}
    for name, make in views(days, rng).items():
        filters = [make() for _ in range(runs)]
        if any(f.after == PAGE_20 for f in filters):
            with factory() as s:
                filters = [page_20(s, f) for f in filters]
        t = Timing({w: [] for w in ("bare", "none", "province", "commune", "commune unscoped")})
        for f in filters:
            mine = replace(f, commune=OFFICERS_COMMUNE)
            t.runs["bare"].append(timed(factory, lambda s, f=f: bare(s, f)))
            t.runs["none"].append(timed(factory, lambda s, f=f: page(s, f, TZ)))
            t.runs["province"].append(timed(factory, lambda s, f=f: page(
                s, f, TZ, scoped(s, PROVINCE_OFFICER))))  # fmt: skip
            t.runs["commune"].append(timed(factory, lambda s, f=f: page(
                s, replace(f, commune=""), TZ, scoped(s, COMMUNE_OFFICER))))  # fmt: skip
            t.runs["commune unscoped"].append(timed(factory, lambda s, m=mine: page(s, m, TZ)))
        out[name] = t
    if with_others:
        for name, run in others(days).items():
            t = Timing({w: [] for w in ("none", "province", "commune")})
            for _ in range(max(3, runs // 5)):
                for way, who in (("none", None), ("province", 1), ("commune", 2)):
                    t.runs[way].append(timed(factory, lambda s, w=who, r=run: r(s, scoped(s, w))))
            out[name] = t
    return out


def report_run(engine: Engine, days: int, runs: int, with_others: bool) -> None:
    res = measure(engine, days, runs, with_others)
    print("  | view | bare p50 | p50 | p95 | p95 ÷ bare p50 | province p50 (÷ no scope) | "
          "commune p50 (÷ same commune unscoped) |")  # fmt: skip
    print("  | --- | --- | --- | --- | --- | --- | --- |")
    for name, t in res.items():
        if "bare" not in t.runs:
            print(f"  | {name} | | {t.p50('none'):.1f} | {t.p95('none'):.1f} | | "
                  f"{t.p50('province'):.1f} ({t.p50('province') / t.p50('none'):.2f}) | "
                  f"{t.p50('commune'):.1f} |")  # fmt: skip
            continue
        bare50 = t.p50("bare")
        prov, none = t.p50("province"), t.p50("none")
        comm, alone = t.p50("commune"), t.p50("commune unscoped")
        print(f"  | {name} | {bare50:.1f} | {none:.1f} | {t.p95('none'):.1f} | "
              f"{t.p95('none') / bare50:.1f}× | {prov:.1f} ({prov / none:.2f}) | "
              f"{comm:.1f} ({comm / alone:.2f}) |")  # fmt: skip
    worst = max((t.p95("none"), n) for n, t in res.items() if "bare" in t.runs)
    print(f"  slowest log view p95: {worst[0]:.1f} ms ({worst[1]})")


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
    ap.add_argument("--others", action="store_true", help="also site health and reports")
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
                    report_run(engine, days, args.runs, args.others)
            finally:
                engine.dispose()
                if schema and not args.keep:
                    drop_schema(schema)


if __name__ == "__main__":
    main()
