"""Benchmark: a province-year report from the daily roll-ups, beside the same report read
from the playback log (the bare part), on SQLite and PostgreSQL (issue 12).

Run: .venv/bin/python -m bench.report_bench [--rows 10000000] [--db sqlite,postgresql]

The province: ``--communes`` communes (300) × 15 sites in 5 zones; every site airs each of the
day's slots (so 10 M rows ≈ 300 × 15 × 6 a day × 365 days). Of a day's slots, two air the week's
spots of two provincial campaigns, the others the commune's news of the week (a new announcement
per commune each week; announcement ids grow with time, as they do). 90 % of airings finish,
5 % are interrupted, 3 % fail, 2 % stay unreported. The rows are made by the database itself
(generate_series on PostgreSQL, a recursive CTE on SQLite) with the indexes and the roll-up
triggers off, then indexes and ANALYZE; ``broadcaster.rollups.rebuild`` then builds the roll-ups
(timed). Each report is the whole report the page shows, for the year, with no scope (the
province's officer) and as one commune's officer; ``--runs`` times each, p50 and p95. The log's
report runs ``--log-runs`` times (it takes tens of seconds at 10 M rows).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from broadcaster import rollups
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.queries import reports, rollup_reports
from broadcaster.queries.reports import Report, ReportFilter
from broadcaster.scope import Scope
from broadcaster.units import subtree_ids

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TZ = "Asia/Ho_Chi_Minh"
SITES_PER_COMMUNE, ZONES_PER_COMMUNE, DAYS = 15, 5, 365
YEAR = ReportFilter(start=date(2026, 1, 1), end=date(2026, 12, 31))
CAMPAIGNS = (("Giảm nghèo bền vững", "giam-ngheo"), ("Phòng chống dịch bệnh", "y-te"))
NEWS_CATEGORIES = ("hanh-chinh", "sinh-ke", "thien-tai", "khac")
COLS = (
    "site_id, item_id, announcement_id, scheduled_at, started_at, finished_at, status, detail, "
    "updated_at, verified, unit_id"
)


def reference(engine: Engine, communes: int) -> None:
    """Units, users, zones, sites, campaigns and the year's announcements (ids by week)."""
    weeks = DAYS // 7 + 1
    t0 = datetime(2025, 12, 1)
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO units (id, kind, code, name) VALUES (1, 'province', 'p', 'Tỉnh')")
        )
        c.execute(
            text("INSERT INTO units (id, parent_id, kind, code, name) VALUES (:id, 1, 'commune', :code, :n)"),
            [{"id": k + 2, "code": f"c{k}", "n": f"Xã {k}"} for k in range(communes)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO users (id, username, display_name, password_hash, role, active, "
                 "created_at, unit_id) VALUES (:id, :u, :u, 'x', :r, true, :t, :unit)"),
            [{"id": 1, "u": "tinh", "r": "officer", "t": t0, "unit": 1},
             {"id": 2, "u": "xa", "r": "officer", "t": t0, "unit": 2}],
        )  # fmt: skip
        per_zone = SITES_PER_COMMUNE // ZONES_PER_COMMUNE
        c.execute(
            text("INSERT INTO zones (id, name, language, unit_id) VALUES (:id, :n, 'vi', :u)"),
            [{"id": f"z{k}-{z}", "n": f"Thôn {z + 1} xã {k}", "u": k + 2}
             for k in range(communes) for z in range(ZONES_PER_COMMUNE)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO sites (id, name, output, state, reported_plan_version, "
                 "agent_version, last_error, unit_id) VALUES (:id, :n, 'amplifier', 'online', 0, "
                 "'', '', :u)"),
            [{"id": f"s{k}-{j}", "n": f"Cụm loa {j + 1} xã {k}", "u": k + 2}
             for k in range(communes) for j in range(SITES_PER_COMMUNE)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO site_zones (site_id, zone_id) VALUES (:s, :z)"),
            [{"s": f"s{k}-{j}", "z": f"z{k}-{j // per_zone}"}
             for k in range(communes) for j in range(SITES_PER_COMMUNE)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO campaigns (id, name, category, description, starts_on, ends_on, "
                 "target_per_week, created_at, unit_id) VALUES (:id, :n, :c, '', :a, :b, 7, :t, 1)"),
            [{"id": i + 1, "n": n, "c": cat, "a": date(2026, 1, 1), "b": date(2026, 12, 31),
              "t": t0} for i, (n, cat) in enumerate(CAMPAIGNS)],
        )  # fmt: skip
        c.execute(
            text("INSERT INTO campaign_zones (campaign_id, zone_id) VALUES (:c, :z)"),
            [{"c": i + 1, "z": f"z{k}-{z}"} for i in range(len(CAMPAIGNS))
             for k in range(communes) for z in range(ZONES_PER_COMMUNE)],
        )  # fmt: skip
        # Week w's block of ids: each commune's news (1 + w·(C+2) + k), then the two spots.
        anns = []
        for w in range(weeks):
            base = 1 + w * (communes + 2)
            for k in range(communes):
                anns.append(
                    {
                        "id": base + k,
                        "t": f"Tin tuần {w + 1} xã {k}",
                        "c": NEWS_CATEGORIES[(w + k) % 4],
                        "camp": None,
                        "u": k + 2,
                    }
                )
            for i in range(len(CAMPAIGNS)):
                anns.append(
                    {
                        "id": base + communes + i,
                        "t": f"{CAMPAIGNS[i][0]}, tuần {w + 1}",
                        "c": CAMPAIGNS[i][1],
                        "camp": i + 1,
                        "u": 1,
                    }
                )
        c.execute(
            text("INSERT INTO announcements (id, title, body, category, priority, status, "
                 "author_id, created_at, reject_reason, tts_engine, campaign_id, unit_id, repeat) "
                 "VALUES (:id, :t, '', :c, 'normal', 'approved', 1, :at, '', '', :camp, :u, 1)"),
            [{**a, "at": t0} for a in anns],
        )  # fmt: skip


def _generate_sql(dialect: str, lo: int, hi: int, communes: int, per_day: int) -> str:
    """Rows lo..hi-1: i → site i % sites, slot i // sites (day, k), its announcement, status."""
    sites = communes * SITES_PER_COMMUNE
    slot = f"(i / {sites})"
    day, k = f"({slot} / {per_day})", f"({slot} % {per_day})"
    commune = f"((i % {sites}) / {SITES_PER_COMMUNE})"
    week = f"({day} / 7)"
    base = f"(1 + {week} * {communes + 2})"
    ann = f"(CASE WHEN {k} < 2 THEN {base} + {communes} + {k} ELSE {base} + {commune} END)"
    h = "((i * 2654435761) % 100)"
    status = (
        f"(CASE WHEN {h} < 90 THEN 'finished' WHEN {h} < 95 THEN 'interrupted' "
        f"WHEN {h} < 98 THEN 'failed' ELSE 'scheduled' END)"
    )
    # Local 05:30 on 1/1/2026 is 22:30 UTC the day before; slots every 2 h 30 min.
    minutes = f"({day} * 1440 + {k} * 150)"
    if dialect == "postgresql":
        at = f"(timestamp '2025-12-31 22:30:00' + make_interval(mins => {minutes}::int))"
        plus = "{t} + interval '{s} seconds'"
        rows = f"generate_series({lo}::bigint, {hi - 1}::bigint) AS g(i)"
        head = ""
    else:
        at = f"(datetime('2025-12-31 22:30:00', '+' || {minutes} || ' minutes') || '.000000')"
        plus = "(datetime({t}, '+{s} seconds') || '.000000')"
        head = f"WITH RECURSIVE g(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM g WHERE i < {hi - 1}) "
        rows = "g"
    started = plus.format(t=at, s=4)
    return (
        f"{head}INSERT INTO playbacks ({COLS}) SELECT "
        f"'s' || {commune} || '-' || (i % {SITES_PER_COMMUNE}), 'i' || {slot}, {ann}, {at}, "
        f"CASE WHEN {h} < 95 THEN {started} END, "
        f"CASE WHEN {h} < 90 THEN {plus.format(t=at, s=124)} "
        f"WHEN {h} < 95 THEN {plus.format(t=at, s=64)} END, "
        f"{status}, '', {at}, true, {commune} + 2 FROM {rows}"
    )  # noqa: S608 - numbers only


def load(engine: Engine, n: int, communes: int, per_day: int) -> float:
    """n rows with the indexes and roll-up triggers off, then both back and ANALYZE."""
    t = time.perf_counter()
    dialect = engine.dialect.name
    with engine.begin() as c:
        if dialect == "postgresql":
            indexes = c.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'playbacks' "
                "AND schemaname = current_schema() AND indexname <> 'pk_playbacks'"
            )).all()  # fmt: skip
            triggers: list[tuple[str, str]] = []
            for name, _ in indexes:
                if name.startswith("uq_"):
                    c.execute(text(f"ALTER TABLE playbacks DROP CONSTRAINT {name}"))
                else:
                    c.execute(text(f"DROP INDEX {name}"))
        else:
            indexes = c.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'playbacks' "
                "AND type = 'index' AND sql IS NOT NULL"
            )).all()  # fmt: skip
            triggers = c.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'playbacks' "
                "AND type = 'trigger'"
            )).all()  # fmt: skip
            for name, _ in indexes:
                c.execute(text(f"DROP INDEX {name}"))
            for name, _ in triggers:
                c.execute(text(f"DROP TRIGGER {name}"))
    step = 1_000_000
    for lo in range(0, n, step):
        with engine.begin() as c:
            if dialect == "postgresql":
                c.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
            c.execute(text(_generate_sql(dialect, lo, min(n, lo + step), communes, per_day)))
    with engine.begin() as c:
        for name, ddl in indexes:
            if dialect == "postgresql" and name.startswith("uq_"):
                c.execute(
                    text(f"ALTER TABLE playbacks ADD CONSTRAINT {name} UNIQUE (site_id, item_id)")
                )
            else:
                c.execute(text(ddl))
        for _, ddl in triggers:
            c.execute(text(ddl))
    analyze(engine, "playbacks")
    return time.perf_counter() - t


def analyze(engine: Engine, *tables: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for t in tables:
            c.execute(
                text(
                    f"VACUUM ANALYZE {t}" if engine.dialect.name == "postgresql" else f"ANALYZE {t}"
                )
            )


def build_rollups(engine: Engine) -> float:
    t = time.perf_counter()
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.execute(text("DELETE FROM report_marks"))
    for month in range(1, 13):
        start = date(2026, month, 1)
        end = date(2026, month + 1, 1) if month < 12 else date(2027, 1, 1)
        with factory() as s, s.begin():
            rollups.rebuild(s, TZ, start, date.fromordinal(end.toordinal() - 1))
    analyze(engine, "report_site_days", "report_announcement_days")
    return time.perf_counter() - t


CPU: dict[int, list[float]] = {}  # id(the wall-clock list) → this process's CPU ms per run


def timed(
    engine: Engine, run: Callable[[Session], Report], times: int
) -> tuple[list[float], Report]:
    """Wall-clock ms of each run (and, in CPU, this process's CPU ms: on SQLite all of the
    report's work, on PostgreSQL the client's share; on a shared machine the wall-clock
    includes waiting for a core)."""
    out, cpu, last = [], [], None
    for _ in range(times):
        with session_factory(engine)() as s:
            t, c = time.perf_counter(), time.process_time()
            last = run(s)
            out.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            s.rollback()
    assert last is not None
    CPU[id(out)] = cpu
    return out, last


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def fresh(kind: str, tmp: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/report.sqlite3"
        upgrade(url)
        return url, None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def measure(engine: Engine, runs: int, log_runs: int) -> None:
    """Time the year's report from the roll-ups, and from the log ``log_runs`` times."""
    with session_factory(engine)() as s:
        commune = Scope(subtree_ids(s, 2))  # the commune officer's (user 2's unit)
    cases: dict[str, Callable[[Session], Report]] = {
        "province-year, roll-ups": lambda s: rollup_reports.report(s, YEAR, TZ),
        "commune-year, roll-ups (commune officer)": lambda s: rollup_reports.report(
            s, YEAR, TZ, commune
        ),
    }
    res = {name: timed(engine, run, runs) for name, run in cases.items()}
    print(f"  load average {os.getloadavg()[0]:.1f} after the roll-ups' runs")
    if not log_runs:
        print("  | report | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |")
        print("  | --- | --- | --- | --- | --- |")
        for name, (xs, _) in res.items():
            cpu = CPU[id(xs)]
            print(f"  | {name} | {pct(xs, 50):.0f} | {pct(xs, 95):.0f} | "
                  f"{pct(cpu, 50):.0f} | {pct(cpu, 95):.0f} |")  # fmt: skip
        return
    raw, raw_r = timed(engine, lambda s: reports.report(s, YEAR, TZ), log_runs)
    craw, craw_r = timed(engine, lambda s: reports.report(s, YEAR, TZ, commune), log_runs)
    same = res["province-year, roll-ups"][1].as_dict() == raw_r.as_dict()
    same_c = res["commune-year, roll-ups (commune officer)"][1].as_dict() == craw_r.as_dict()
    print(f"  same figures as the log's report: province {same}, commune {same_c}")
    print("  | report | p50 ms | p95 ms | CPU p50 / p95 ms | log's report (bare) ms | ratio |")
    print("  | --- | --- | --- | --- | --- | --- |")
    for (name, (xs, _)), base in zip(res.items(), (raw, craw), strict=True):
        b = statistics.median(base)
        cpu = CPU[id(xs)]
        print(f"  | {name} | {pct(xs, 50):.0f} | {pct(xs, 95):.0f} | {pct(cpu, 50):.0f} / "
              f"{pct(cpu, 95):.0f} | {b:.0f} | {b / pct(xs, 50):.0f}× faster |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--communes", type=int, default=300)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--log-runs", type=int, default=1)
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (default: a temp dir)")
    ap.add_argument("--reuse", default="", help="time an already loaded database (its URL)")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the loaded databases (the SQLite file in --dir, the PostgreSQL schema) and "
        "print their URLs for --reuse",
    )
    args = ap.parse_args()
    if args.reuse:
        upgrade(args.reuse)  # a database kept by an older run gets the newer migrations
        engine = make_engine(args.reuse)
        try:
            measure(engine, args.runs, args.log_runs)
        finally:
            engine.dispose()
        return
    sites = args.communes * SITES_PER_COMMUNE
    per_day = max(3, round(args.rows / (sites * DAYS)))
    print(f"{platform.machine()}, Python {platform.python_version()}; {args.rows:,} rows = "
          f"{args.communes} communes × {SITES_PER_COMMUNE} sites × {per_day} a day over "
          f"{-(-args.rows // (sites * per_day))} days; report {YEAR.start} to {YEAR.end}")  # fmt: skip
    if args.keep and not args.dir:
        ap.error("--keep needs --dir")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = args.dir if args.keep else tmp
        for kind in args.db.split(","):
            url, schema = fresh(kind, Path(d))
            engine = make_engine(url)
            try:
                reference(engine, args.communes)
                loaded = load(engine, args.rows, args.communes, per_day)
                built = build_rollups(engine)
                with engine.connect() as c:
                    sizes = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
                             for t in ("playbacks", "report_site_days", "report_announcement_days")}  # fmt: skip
                print(f"{kind}: loaded in {loaded:.0f} s; roll-ups rebuilt in {built:.0f} s; "
                      + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))  # fmt: skip
                measure(engine, args.runs, args.log_runs)
            finally:
                engine.dispose()
                if args.keep:
                    print(f"  kept: --reuse '{url}'")
                elif schema:
                    import psycopg

                    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
