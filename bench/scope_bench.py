"""Benchmark: what scoping by administrative unit adds to the commune's inbox, the sender's
per-commune view of a bulletin, the month's roll-up report and the common log views (issue 11),
on SQLite and PostgreSQL, in one run.

Run: .venv/bin/python -m bench.scope_bench [--days 31] [--db sqlite,postgresql] [--runs 20]

The province is the log bench's (``bench.logquery_bench``): 300 communes × 15 sites (3 zones of
5), 6 airings a site a day, ``--days`` days of playbacks (31: 837,000 rows) made by its
generators and loaded its way, the daily roll-ups rebuilt for the period; then ``--bulletins``
bulletins from the province to every commune over the period (normal ones in the inboxes,
accepted or declined; priority ones placed; emergencies sent) and a few awaiting approval.

Each case is timed as the web runs it, with the query functions the pages call, asked in turn
(so a burst of load on the shared machine hits them alike):

- **bare**: a plain SELECT of the same rows (no joins, no loading, no scope);
- **none**: the same page without a scope (every commune's rows), after reading the asking
  user alone (every request reads its user);
- **province**: the province's user read with their scope in one statement
  (``Scope.with_user``, as ``web.security`` loads every request's user; timed), a scope that
  holds every unit, then the page;
- **commune**: one commune's user and scope the same way, then the page;
- **commune unscoped**: the user alone, then the same commune's rows without a scope (the
  pages' commune filter; for the inbox, which has none, the commune's id as a literal filter).

Every other run asks in the reverse order (the query a way repeats is warmer).

The ratios printed are province ÷ none and commune ÷ commune unscoped, each the median of the
runs' ratios (issue 11's target: < 1.2).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bench import logquery_bench as lb
from broadcaster import rollups
from broadcaster.db import make_engine, session_factory
from broadcaster.models import Bulletin, BulletinDelivery, ReportAnnouncementDay, Slot, User
from broadcaster.queries.logs import LogFilter, LogPage, page
from broadcaster.queries.reports import Report, ReportFilter
from broadcaster.queries.rollup_reports import report
from broadcaster.scope import Scope
from broadcaster.units import subtree_ids
from schedules.bulletin_status import commune_status, inbox, scheduled_for, waiting

TZ = lb.TZ
# Who asks: the province's officer and one commune's (the log bench's users 1 and 2), and the
# commune's editor, who decides its inbox (the navigation's badge counts for them).
PROVINCE, COMMUNE_OFFICER, COMMUNE_EDITOR, APPROVER = 1, 2, 3, 4
COMMUNE_ID, COMMUNE_NAME, COMMUNE_CODE = 2, "Xã 0", "c0"
LOG_VIEWS = (
    "newest (no filter)",
    "one day",
    "one month",
    "site, one month",
    "zone, one week",
    "commune, one week",
    "status failed, one week",
    "priority emergency, one month",
    "category, one week",
    "search a title, one month",
)
SCOPE_ALONE = "the user and their scope, against the user alone (every request loads one)"
WAYS = ("bare", "none", "province", "commune", "commune unscoped")


def users(engine: Engine) -> None:
    """The log bench's two users become the province's officer and the commune's officer; the
    commune's editor and the province's approver are added."""
    t = datetime(2025, 1, 1)
    with engine.begin() as c:
        c.execute(text("UPDATE users SET role = 'officer' WHERE id = 1"))
        c.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role, active, "
                "created_at, unit_id) VALUES (:id, :u, :u, 'x', :r, true, :t, :unit)"
            ),
            [
                {"id": COMMUNE_EDITOR, "u": "xa-bt", "r": "editor", "t": t, "unit": COMMUNE_ID},
                {"id": APPROVER, "u": "tinh-duyet", "r": "approver", "t": t, "unit": 1},
            ],
        )


def bulletins(engine: Engine, days: int, n: int) -> int:
    """``n`` bulletins from the province to every commune, one every few hours over the period,
    and a few awaiting approval (pending deliveries, in no inbox); the deliveries made."""
    rng = random.Random(11)
    first = datetime.combine(lb.FIRST_DAY, datetime.min.time())
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO media (sha256, ext, size, duration_ms, created_at) "
                "VALUES (:h, 'mp3', 1000, 60000, :t)"
            ),
            {"h": "0" * 64, "t": first},
        )
        bs, ds = [], []
        for b in range(1, n + 1):
            at = first + timedelta(minutes=rng.randrange(days * 1440))
            priority = ("normal", "normal", "normal", "priority", "emergency")[b % 5]
            pending = b % 12 == 0
            bs.append({"id": b, "t": f"Thông báo của tỉnh số {b}", "p": priority,
                       "s": "submitted" if pending else "approved", "at": at,
                       "dec": None if pending else at + timedelta(minutes=5),
                       "appr": None if pending else APPROVER})  # fmt: skip
            for k in range(lb.COMMUNES):
                if pending:
                    state = "pending"
                elif priority == "priority":
                    state = "placed"
                elif priority == "emergency":
                    state = "sent"
                else:
                    state = rng.choice(("inbox", "inbox", "accepted", "accepted", "declined"))
                # An airing bulletin's announcement: one of the log's of the same class.
                ann = None
                if state in ("accepted", "placed", "sent"):
                    want = {"accepted": "normal", "placed": "priority", "sent": "emergency"}
                    ann = rng.choice(
                        [a for a in range(1, 41) if lb.PRIORITIES[a % 4] == want[state]]
                    )
                decided = state in ("accepted", "declined")
                ds.append({"b": b, "u": k + 2, "s": state,
                           "r": None if pending else at + timedelta(minutes=6),
                           "by": COMMUNE_EDITOR if decided else None,
                           "dat": at + timedelta(hours=2) if decided else None,
                           "why": "Trùng lịch của xã" if state == "declined" else "",
                           "a": ann})  # fmt: skip
        c.execute(
            text(
                "INSERT INTO bulletins (id, title, body, priority, status, unit_id, author_id, "
                "approver_id, created_at, decided_at, reject_reason, media_sha256, tts_engine) "
                "VALUES (:id, :t, '', :p, :s, 1, 1, :appr, :at, :dec, '', :h, '')"
            ),
            [{**b, "h": "0" * 64} for b in bs],
        )
        c.execute(
            text(
                "INSERT INTO bulletin_deliveries (bulletin_id, unit_id, state, received_at, "
                "decided_by_id, decided_at, reason, announcement_id) "
                "VALUES (:b, :u, :s, :r, :by, :dat, :why, :a)"
            ),
            ds,
        )
    lb_analyze(engine, "bulletins", "bulletin_deliveries")
    return len(ds)


def lb_analyze(engine: Engine, *tables: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for t in tables:
            verb = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
            c.execute(text(f"{verb} {t}"))


def build_rollups(engine: Engine, days: int) -> float:
    """The period's daily roll-ups, as ``broadcaster reports rebuild`` makes them."""
    t = time.perf_counter()
    with session_factory(engine)() as s, s.begin():
        s.execute(text("DELETE FROM report_marks"))
        rollups.rebuild(s, TZ, lb.FIRST_DAY, lb.FIRST_DAY + timedelta(days=days - 1))
    lb_analyze(engine, "report_site_days", "report_announcement_days")
    return time.perf_counter() - t


# --- What each page runs -----------------------------------------------------------------------


def of(s: Session, who: int) -> Scope:
    """The user and their scope, read in one statement as each request loads them
    (``web.security``, ``Scope.with_user``)."""
    found = Scope.with_user(s, who)
    assert found is not None
    return found[1]


def user(s: Session, who: int) -> Scope | None:
    """The user alone, as a request would load them if there were no scope."""
    s.execute(select(User).where(User.id == who)).scalar_one()
    return None


def inbox_page(s: Session, who: int | None, sc: Scope | None) -> object:
    """The inbox page: its items, and the navigation's badge for the commune's staff."""
    items = inbox(s, sc)
    badge = waiting(s, s.get(User, who), sc) if who and sc else 0  # type: ignore[arg-type]
    return items, badge


def sender_page(s: Session, bulletin_id: int, sc: Scope | None) -> object:
    """The sender's view of a bulletin: its line per commune (``bulletins.detail``)."""
    b = s.get(Bulletin, bulletin_id) if sc is None else sc.get(s, Bulletin, bulletin_id)
    assert b is not None
    return commune_status(s, b, TZ)


def item_page(s: Session, who: int, delivery_id: int, sc: Scope | None) -> object:
    """A commune's line of a bulletin, as its staff see it: the queries of
    ``web.bulletins.routes._item_page`` (the item, the slots to choose from, whether the user
    decides for its commune, when it is scheduled, its audio)."""
    d = (
        s.get(BulletinDelivery, delivery_id)
        if sc is None
        else sc.get(s, BulletinDelivery, delivery_id)
    )
    assert d is not None
    slots = s.scalars(select(Slot).order_by(Slot.start, Slot.id)).all()
    user = s.get(User, who)
    assert user is not None
    mine = user.unit_id in subtree_ids(s, d.unit_id)
    ann = d.announcement
    when = scheduled_for(ann.schedule[0], TZ) if ann is not None and ann.schedule else None
    return {"item": d.id, "slots": len(slots), "mine": mine, "when": when,
            "audio": d.bulletin.media.sha256}  # fmt: skip


def report_page(s: Session, f: ReportFilter, sc: Scope | None) -> object:
    """The report page (``web.reports.current``): pending roll-ups refreshed, then read."""
    if rollups.refresh(s, TZ, (f.start, f.end)):
        s.commit()
    else:
        s.rollback()
    return report(s, f, TZ, sc, fresh=False)


@dataclass
class Case:
    """One page, asked each way: ``run(session, way)``."""

    name: str
    run: Callable[[Session, str], object]


def cases(engine: Engine, days: int, runs: int) -> list[list[Case]]:
    """Each case's ``runs`` parameter sets (random, the same for every way)."""
    rng = random.Random(7)
    with session_factory(engine)() as s:
        sent = s.scalars(select(Bulletin.id).where(Bulletin.status == "approved")).all()
        mine = s.scalars(
            select(BulletinDelivery.id).where(
                BulletinDelivery.unit_id == COMMUNE_ID, BulletinDelivery.state != "pending"
            )
        ).all()
    last = lb.FIRST_DAY + timedelta(days=days - 1)
    month = ReportFilter(max(lb.FIRST_DAY, last - timedelta(days=29)), last)
    commune_only = Scope(frozenset({COMMUNE_ID}))  # the commune's rows, no Scope.of

    def inbox_case(way: str, s: Session) -> object:
        if way == "bare":
            return s.execute(
                select(BulletinDelivery.id)
                .where(BulletinDelivery.state != "pending")
                .order_by(BulletinDelivery.received_at.desc(), BulletinDelivery.id.desc())
                .limit(200)
            ).all()
        if way == "none":
            return inbox_page(s, None, user(s, PROVINCE))
        if way == "province":
            return inbox_page(s, PROVINCE, of(s, PROVINCE))
        if way == "commune":
            return inbox_page(s, COMMUNE_EDITOR, of(s, COMMUNE_EDITOR))
        user(s, COMMUNE_EDITOR)
        return inbox_page(s, COMMUNE_EDITOR, commune_only)

    def sender_case(b: int, d: int) -> Callable[[Session, str], object]:
        def run(s: Session, way: str) -> object:
            if way == "bare":
                return s.execute(
                    select(BulletinDelivery.id, BulletinDelivery.state).where(
                        BulletinDelivery.bulletin_id == b
                    )
                ).all()
            if way == "none":
                return sender_page(s, b, user(s, PROVINCE))
            if way == "province":
                return sender_page(s, b, of(s, PROVINCE))
            if way == "commune":  # the commune sees its own line of the bulletin
                return item_page(s, COMMUNE_EDITOR, d, of(s, COMMUNE_EDITOR))
            return item_page(s, COMMUNE_EDITOR, d, user(s, COMMUNE_EDITOR))

        return run

    def report_case(way: str, s: Session) -> object:
        if way == "bare":  # the roll-up rows the report sums, alone
            return s.execute(
                select(ReportAnnouncementDay.unit_id, ReportAnnouncementDay.planned).where(
                    ReportAnnouncementDay.day.between(month.start, month.end)
                )
            ).all()
        if way == "none":
            return report_page(s, month, user(s, PROVINCE))
        if way == "province":
            return report_page(s, month, of(s, PROVINCE))
        if way == "commune":
            return report_page(s, month, of(s, COMMUNE_OFFICER))
        return report_page(s, replace(month, unit=COMMUNE_CODE), user(s, COMMUNE_OFFICER))

    def log_case(f: LogFilter) -> Callable[[Session, str], object]:
        def run(s: Session, way: str) -> object:
            if way == "bare":
                lb.bare(s, f)
                return None
            if way == "none":
                return page(s, f, TZ, user(s, PROVINCE))
            if way == "province":
                return page(s, f, TZ, of(s, PROVINCE))
            if way == "commune":
                return page(s, replace(f, commune=""), TZ, of(s, COMMUNE_OFFICER))
            return page(s, replace(f, commune=COMMUNE_NAME), TZ, user(s, COMMUNE_OFFICER))

        return run

    def scope_alone(way: str, s: Session) -> object:
        who = PROVINCE if way in ("none", "province") else COMMUNE_OFFICER
        if way in ("province", "commune"):
            return of(s, who)
        return None if way == "bare" else user(s, who)

    out = [
        [Case(SCOPE_ALONE, lambda s, w: scope_alone(w, s)) for _ in range(runs)],
        [Case("commune's inbox", lambda s, w: inbox_case(w, s)) for _ in range(runs)],
        [
            Case(
                "bulletin: the sender's view per commune (commune: its inbox item)",
                sender_case(rng.choice(sent), rng.choice(mine)),
            )
            for _ in range(runs)
        ],
        [Case("the month's roll-up report", lambda s, w: report_case(w, s)) for _ in range(runs)],
    ]
    log_views = lb.views(days, rng)
    for name in LOG_VIEWS:
        out.append([Case(f"log: {name}", log_case(log_views[name]())) for _ in range(runs)])
    return out


def timed(engine: Engine, case: Case, way: str) -> float:
    with session_factory(engine)() as s:
        # The users in the session before the clock starts, as the log bench had them; every
        # way but bare still reads its user inside (as every request does): the scoped ways
        # with their scope, in one statement.
        for u in (PROVINCE, COMMUNE_OFFICER, COMMUNE_EDITOR):
            s.get(User, u)
        t = time.perf_counter()
        case.run(s, way)
        ms = (time.perf_counter() - t) * 1000
        s.rollback()
        return ms


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def answer(result: object) -> object:
    """What a page shows, to compare two ways of asking."""
    if isinstance(result, LogPage):
        return [r.id for r in result.rows], result.total
    if isinstance(result, Report):
        return result.as_dict()["total"]
    if isinstance(result, tuple):  # the inbox: its items, the badge
        return [d.id for d in result[0]], result[1]
    if isinstance(result, list):  # the sender's view
        return [(r.delivery.id, r.sites, r.aired, r.scheduled_for) for r in result]
    return result


def same(engine: Engine, case: Case) -> bool:
    """The province sees what no scope shows; the commune what its filter shows."""
    with session_factory(engine)() as s:
        got = {w: answer(case.run(s, w)) for w in WAYS if w != "bare"}
        s.rollback()
    return got["province"] == got["none"] and got["commune"] == got["commune unscoped"]


def measure(engine: Engine, days: int, runs: int) -> dict[str, dict[str, list[float]]]:
    res: dict[str, dict[str, list[float]]] = {}
    for runs_of_case in cases(engine, days, runs):
        name = runs_of_case[0].name
        res[name] = {w: [] for w in WAYS}
        if name != SCOPE_ALONE and not all(same(engine, c) for c in runs_of_case[:3]):
            raise AssertionError(f"{name}: a scope and its filter answer differently")
        for i, case in enumerate(runs_of_case):
            # Every other run asks the other way round: a way asked right after the same query
            # (province after none, commune unscoped after commune) finds it warmer.
            for way in WAYS if i % 2 == 0 else WAYS[::-1]:
                res[name][way].append(timed(engine, case, way))
    return res


def paired(scoped: list[float], unscoped: list[float]) -> float:
    """The median of each run's ratio: the two ways of a run asked the same thing one after
    the other, so the page's own spread (one bulletin against another) and the machine's load
    cancel out better than in a ratio of medians."""
    return statistics.median(a / b for a, b in zip(scoped, unscoped, strict=True))


def print_table(res: dict[str, dict[str, list[float]]]) -> list[float]:
    """The table; returns every ratio."""
    print("  | page | bare p50 | none p50 / p95 | province p50 / p95 (÷ none) | "
          "commune unscoped p50 | commune p50 / p95 (÷ unscoped) |")  # fmt: skip
    print("  | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for name, r in res.items():
        p50 = {w: statistics.median(xs) for w, xs in r.items()}
        p95 = {w: pct(xs, 0.95) for w, xs in r.items()}
        prov, comm = paired(r["province"], r["none"]), paired(r["commune"], r["commune unscoped"])
        if name == SCOPE_ALONE:  # a part of every page, not a page: not in the target's ratios
            print(f"  | {name} | | {p50['none']:.2f} / {p95['none']:.2f} | "
                  f"{p50['province']:.2f} / {p95['province']:.2f} ({prov:.2f}) | "
                  f"{p50['commune unscoped']:.2f} | "
                  f"{p50['commune']:.2f} / {p95['commune']:.2f} ({comm:.2f}) |")  # fmt: skip
            continue
        ratios += [prov, comm]
        print(f"  | {name} | {p50['bare']:.1f} | {p50['none']:.1f} / {p95['none']:.1f} | "
              f"{p50['province']:.1f} / {p95['province']:.1f} (**{prov:.2f}**) | "
              f"{p50['commune unscoped']:.1f} | {p50['commune']:.1f} / {p95['commune']:.1f} "
              f"(**{comm:.2f}**) |")  # fmt: skip
    worst = max(ratios)
    print(f"  worst ratio {worst:.2f}; median {statistics.median(ratios):.2f}; "
          f"{'under' if worst < 1.2 else 'NOT under'} 1.20 everywhere")  # fmt: skip
    return ratios


def run(kind: str, where: Path, days: int, runs: int, n_bulletins: int) -> list[float]:
    """Load a province into a fresh database of ``kind``, measure, drop it; the ratios."""
    n = lb.SITES * lb.ITEMS_PER_DAY * days
    url, schema, _ = lb.fresh(kind, where, False, n)
    engine = make_engine(url)
    try:
        lb.setup_reference(engine)
        users(engine)
        lb.load(engine, n)
        built = build_rollups(engine, days)
        made = bulletins(engine, days, n_bulletins)
        print(f"{kind}: {n:,} playbacks, roll-ups rebuilt in {built:.0f} s, {n_bulletins} "
              f"bulletins ({made:,} deliveries)")  # fmt: skip
        return print_table(measure(engine, days, runs))
    finally:
        engine.dispose()
        if schema:
            lb.drop_schema(schema)


def main(argv: list[str] | None = None) -> list[float]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=31, help="days of playbacks (31: a month)")
    ap.add_argument("--bulletins", type=int, default=60)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (default: a temp dir)")
    args = ap.parse_args(argv)
    print(f"{platform.machine()}, Python {platform.python_version()}; {lb.COMMUNES} communes × "
          f"{lb.SITES // lb.COMMUNES} sites × {lb.ITEMS_PER_DAY} airings a day × {args.days} "
          f"days; {args.runs} runs per page and way")  # fmt: skip
    ratios = []
    with contextlib.ExitStack() as stack:
        where = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        for kind in args.db.split(","):
            ratios += run(kind, where, args.days, args.runs, args.bulletins)
    return ratios


if __name__ == "__main__":
    main()
