"""Benchmark: materialize plans for 5,000 sites over 48 h with 200 recurring announcements,
in full and after an edit touching one commune (issue 12).

Run: .venv/bin/python -m bench.plan_bench [--sites 5000] [--announcements 200]
         [--db sqlite,postgresql] [--edits 15] [--no-reference] [--runtime]
Beside it, in the same run: a bare baseline (a raw SELECT of the same schedule rows plus raw
dateutil expansion of their rules; no zones, no slots, no packing, no wire objects), the
stateless reference planner (schedules.planner.materialize, which the cache must equal), and for
an edit the raw SELECT + expansion of the edited announcement's rows alone.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import tempfile
import time as clock
import tracemalloc
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from dateutil.rrule import rrulestr
from sqlalchemy import Engine, select, text

from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.models import Announcement, Media, ScheduleItem, Site, Slot, Unit, User, Zone
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules.plan_cache import PlanCache
from schedules.planner import materialize
from schedules.recurrence import to_local
from schedules.runtime import SchedulerRuntime

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HORIZON = timedelta(hours=48)
TICK = timedelta(seconds=3)  # the scheduler's publish interval
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RULES = [
    "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0",
    "FREQ=DAILY;BYDAY=MO,WE,FR;BYHOUR=17;BYMINUTE=15;BYSECOND=0",
    "FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=20;BYSECOND=0",
    "FREQ=DAILY;BYHOUR=6,11,17;BYMINUTE=0,30;BYSECOND=0;BYSETPOS=1,4,5",
]


def build(url: str, n_sites: int, n_ann: int, seed: int = 5) -> None:
    """A province: communes of 20 sites (one FM station serving all 4 zones), recurring items."""
    rnd = random.Random(seed)
    factory = session_factory(make_engine(url))
    with factory() as s, s.begin():
        user = User(username="b", display_name="b", password_hash="x", role="editor")
        slots = [
            Slot(name="Sáng", start=time(6), end=time(6, 45)),
            Slot(name="Chiều", start=time(17), end=time(17, 45)),
        ]
        s.add_all([user, *slots])
        communes = n_sites // 20
        zones_by_commune = []
        province = Unit(kind="province", code="p", name="Tỉnh")
        user.unit = province
        for c in range(communes):
            unit = Unit(kind="commune", code=f"c{c}", name=f"Xã {c}", parent=province)
            zones = [Zone(id=f"c{c}-z{z}", name=f"Thôn {z}", unit=unit) for z in range(4)]
            s.add_all(zones)
            s.add(Site(id=f"c{c}-fm", name="Đài xã", zones=zones, unit=unit))
            for i in range(19):
                s.add(Site(id=f"c{c}-s{i}", name=f"Cụm loa {i}", zones=[zones[i % 4]], unit=unit))
            zones_by_commune.append(zones)
        s.flush()
        for a in range(n_ann):
            media = Media(
                sha256=f"{a:064x}", ext="mp3", size=500_000, duration_ms=rnd.randint(60, 240) * 1000
            )
            zones = zones_by_commune[a % communes] if a < communes else rnd.choice(zones_by_commune)
            ann = Announcement(
                title=f"Thông báo {a}",
                body="…",
                status="approved",
                author_id=user.id,
                decided_at=NOW,
                priority=rnd.choice(["normal"] * 8 + ["priority"]),
                media=media,
                zones=rnd.sample(zones, rnd.randint(1, 4)) if a >= 50 else list(zones),
            )
            slot = rnd.choice([None, None, *slots])
            ann.schedule.append(
                ScheduleItem(
                    start_at=NOW - timedelta(days=rnd.randint(0, 20)),
                    rrule=rnd.choice(RULES),
                    slot=slot,
                )
            )
            s.add(ann)
        # 50 announcements province-wide: target every zone (district-wide campaign messages)
        all_zones = [z for zs in zones_by_commune for z in zs]
        for ann in s.scalars(select(Announcement).where(Announcement.id <= 50)):
            ann.zones = all_zones


def baseline(url: str) -> int:
    """Raw SELECT of approved schedule rows and raw dateutil expansion over the horizon."""
    engine = make_engine(url)
    n = 0
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.id, s.start_at, s.rrule FROM schedule_items s JOIN announcements a "
                "ON a.id = s.announcement_id WHERE a.status = 'approved'"
            )
        ).all()
        lo, hi = to_local(NOW), to_local(NOW + HORIZON)
        for _id, start_at, rule in rows:
            start = start_at if isinstance(start_at, datetime) else datetime.fromisoformat(start_at)
            n += len(rrulestr(rule, dtstart=start).between(lo, hi, inc=True))
        zone_rows = conn.execute(
            text(
                "SELECT count(*) FROM announcement_zones az JOIN site_zones sz ON sz.zone_id = az.zone_id"
            )
        ).scalar()
    engine.dispose()
    return n + int(zone_rows or 0)


CPU: dict[str, float] = {}  # this process's CPU seconds of the last measure(), by label


def measure(fn, label: str = ""):  # type: ignore[no-untyped-def]
    """(result, wall seconds); the CPU seconds go to CPU[label] (the machine is shared, so the
    CPU time is the steadier figure; PostgreSQL's own work is not in it)."""
    c0, t0 = clock.process_time(), clock.perf_counter()
    result = fn()
    elapsed = clock.perf_counter() - t0
    CPU[label] = clock.process_time() - c0
    return result, elapsed


def peak_memory(fn) -> float:  # type: ignore[no-untyped-def]
    """Peak traced memory of fn() in MB (tracemalloc slows Python, so timed apart)."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def bare_edit(engine: Engine, ann_id: int) -> int:
    """The least an edit costs: a raw SELECT of one announcement's schedule rows and its
    sites (on the pool's warm connection), and dateutil expansion of its rules."""
    n = 0
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, start_at, rrule FROM schedule_items WHERE announcement_id = :a"),
            {"a": ann_id},
        ).all()
        lo, hi = to_local(NOW), to_local(NOW + HORIZON)
        for _id, start_at, rule in rows:
            start = start_at if isinstance(start_at, datetime) else datetime.fromisoformat(start_at)
            n += len(rrulestr(rule, dtstart=start).between(lo, hi, inc=True))
        n += len(
            conn.execute(
                text(
                    "SELECT sz.site_id FROM announcement_zones az JOIN site_zones sz"
                    " ON sz.zone_id = az.zone_id WHERE az.announcement_id = :a"
                ),
                {"a": ann_id},
            ).all()
        )
    return n


def one_commune_announcements(factory) -> list[int]:  # type: ignore[no-untyped-def]
    """Announcements whose zones all lie in one commune."""
    with factory() as s:
        return [
            a.id
            for a in s.scalars(select(Announcement).order_by(Announcement.id))
            if len({z.commune for z in a.zones}) == 1
        ]


def edit(factory, ann_id: int, n: int) -> str:  # type: ignore[no-untyped-def]
    """What the edit form writes: a corrected title, and the item moved by a few minutes."""
    with factory() as s, s.begin():
        ann = s.get(Announcement, ann_id)
        assert ann is not None
        ann.title = f"Thông báo {ann_id} (sửa {n})"
        ann.schedule[0].start_at += timedelta(minutes=7 * (1 if n % 2 == 0 else -1))
        return ann.zones[0].commune


def fresh(kind: str, tmp: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        upgrade(url)
        return url, None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def runtime_ticks(url: str, factory, tmp: Path, targets: list[int]) -> None:  # type: ignore[no-untyped-def]
    """The scheduler's whole tick (materialize, compare digests, sign and send what changed)
    through SchedulerRuntime with an in-memory publisher: the first, a quiet one, an edit."""
    settings = Settings.load(
        env={},
        database_url=url,
        media_dir=str(tmp / "media"),
        signing_key_file=str(tmp / "signing-key.pem"),
        secret_key="bench",
        tts_engine="espeak",
        plan_horizon_hours=48,
    )
    fake = FakeClock(NOW + timedelta(hours=1))
    plans = PlanPublisher(Signer.generate(), MemoryPublisher(), Topics("loa/v1"), HORIZON)
    runtime = SchedulerRuntime(settings, factory, plans, fake)
    first, first_s = measure(runtime.publish_plans)
    fake.advance(TICK)
    _, quiet_s = measure(runtime.publish_plans)
    edit(factory, targets[1], 1)
    fake.advance(TICK)
    sent, edit_s = measure(runtime.publish_plans)
    print(
        f"  | SchedulerRuntime.publish_plans: first (signs {len(first)} plans) {first_s * 1000:.0f} ms;"
        f" quiet tick {quiet_s * 1000:.1f} ms; after an edit ({len(sent)} sites re-sent)"
        f" {edit_s * 1000:.1f} ms |"
    )


def run(kind: str, tmp: Path, args: argparse.Namespace) -> None:
    url, schema = fresh(kind, tmp)
    engine = make_engine(url)
    factory = session_factory(engine)
    try:
        build(url, args.sites, args.announcements)
        _, base_s = measure(lambda: baseline(url), "base")

        def reference(now: datetime):  # type: ignore[no-untyped-def]
            with factory() as session:
                return materialize(session, now, HORIZON, "http://srv")

        def tick(cache: PlanCache, now: datetime):  # type: ignore[no-untyped-def]
            with factory() as session:
                return cache.materialize(session, now, HORIZON)

        cache = PlanCache("http://srv")
        plans, full_s = measure(lambda: tick(cache, NOW), "full")
        items = sum(len(v) for v in plans.values())
        shared = len({id(v) for v in plans.values()})
        objects = len({id(i) for v in plans.values() for i in v})
        before, steady_s = measure(lambda: tick(cache, NOW + TICK))
        print(f"{kind}: sites {len(plans)}, recurring announcements {args.announcements}, 48 h")
        print(
            f"  plan items in all plans: {items} (mean {items / len(plans):.1f} per site);"
            f" {shared} distinct lists, {objects} distinct PlanItem objects"
        )
        print(
            f"  | baseline: raw SELECT + dateutil expansion + site×zone join count"
            f" | {base_s * 1000:.0f} ms (CPU {CPU['base'] * 1000:.0f}) |"
        )
        if not args.no_reference:
            ref, ref_s = measure(lambda: reference(NOW), "ref")
            assert ref == plans, "the cache differs from the reference planner"
            del ref  # 441 k items the collector would otherwise walk in every later figure
            gc.collect()
            print(
                f"  | reference planner (stateless, the old path) | {ref_s * 1000:.0f} ms"
                f" (CPU {CPU['ref'] * 1000:.0f}) |"
            )
        print(
            f"  | PlanCache, full (cold) | {full_s * 1000:.0f} ms (CPU {CPU['full'] * 1000:.0f}) |"
        )
        print(f"  | PlanCache, next tick, nothing changed | {steady_s * 1000:.1f} ms |")
        targets = one_commune_announcements(factory)
        now = NOW + TICK
        edit_s, edit_cpu, bare_s, touched = [], [], [], []
        for n in range(args.edits):
            ann_id = targets[(n * 7) % len(targets)]
            commune = edit(factory, ann_id, n)
            now += TICK
            after, s = measure(lambda: tick(cache, now), "edit")  # noqa: B023 - called right here
            edit_cpu.append(CPU["edit"])
            edit_s.append(s)
            touched.append(sum(1 for k in after if after[k] is not before[k]))
            before = after
            _, b = measure(lambda: bare_edit(engine, ann_id))  # noqa: B023
            bare_s.append(b)
            if n == 0:
                assert after == tick(PlanCache("http://srv"), now), "edit: the cache went stale"
                print(
                    f"  first edit: announcement {ann_id} in {commune}, checked against a cold cache"
                )
        edit_s.sort()
        edit_cpu.sort()
        bare_s.sort()
        print(
            f"  | PlanCache, tick after an edit touching one commune (median of {args.edits},"
            f" sites whose list changed: {min(touched)}–{max(touched)})"
            f" | {edit_s[len(edit_s) // 2] * 1000:.1f} ms (max {edit_s[-1] * 1000:.1f});"
            f" CPU {edit_cpu[len(edit_cpu) // 2] * 1000:.1f} ms |"
        )
        print(
            f"  | bare edit: raw SELECT of its rows and sites + dateutil expansion"
            f" | {bare_s[len(bare_s) // 2] * 1000:.1f} ms |"
        )
        if args.runtime:
            runtime_ticks(url, factory, tmp, targets)
        print(
            f"  peak traced memory: PlanCache full {peak_memory(lambda: tick(PlanCache('http://srv'), NOW)):.0f} MB"
        )
    finally:
        engine.dispose()
        if schema:
            import psycopg

            with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=5000)
    ap.add_argument("--announcements", type=int, default=200)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--edits", type=int, default=15)
    ap.add_argument("--no-reference", action="store_true", help="skip the stateless planner")
    ap.add_argument(
        "--runtime", action="store_true", help="also time SchedulerRuntime.publish_plans ticks"
    )
    args = ap.parse_args()
    print(f"python {platform.python_version()} · {platform.machine()}")
    for kind in args.db.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            run(kind, Path(tmp), args)


if __name__ == "__main__":
    main()
