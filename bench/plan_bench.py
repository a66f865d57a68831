"""Benchmark: materialize plans for 5,000 sites over 48 h with 200 recurring announcements.

Run: .venv/bin/python -m bench.plan_bench [--sites 5000] [--announcements 200]
Compares against a bare baseline in the same run: a raw SELECT of the same schedule rows plus
raw dateutil expansion of their rules (no zones, no slots, no packing, no wire objects).
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time as clock
import tracemalloc
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from dateutil.rrule import rrulestr
from sqlalchemy import select, text

from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.models import Announcement, Media, ScheduleItem, Site, Slot, User, Zone
from schedules.planner import materialize
from schedules.recurrence import to_local

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HORIZON = timedelta(hours=48)
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
        for c in range(communes):
            zones = [Zone(id=f"c{c}-z{z}", name=f"Thôn {z}", commune=f"Xã {c}") for z in range(4)]
            s.add_all(zones)
            s.add(Site(id=f"c{c}-fm", name="Đài xã", zones=zones))
            for i in range(19):
                s.add(Site(id=f"c{c}-s{i}", name=f"Cụm loa {i}", zones=[zones[i % 4]]))
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


def measure(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t0 = clock.perf_counter()
    result = fn()
    elapsed = clock.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=5000)
    ap.add_argument("--announcements", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        build(url, args.sites, args.announcements)
        factory = session_factory(make_engine(url))
        _, base_s, base_peak = measure(lambda: baseline(url))

        def run():  # type: ignore[no-untyped-def]
            with factory() as session:
                return materialize(session, NOW, HORIZON, "http://srv")

        plans, plan_s, plan_peak = measure(run)
        items = sum(len(v) for v in plans.values())
        _, plan2_s, _ = measure(run)
    print(f"python {platform.python_version()} · {platform.machine()} · SQLite file")
    print(f"sites {len(plans)}, recurring announcements {args.announcements}, horizon 48 h")
    print(f"plan items in all plans: {items} (mean {items / len(plans):.1f} per site)")
    print(
        f"| baseline: raw SELECT + dateutil expansion + site×zone join count | {base_s:.2f} s | {base_peak / 1e6:.1f} MB |"
    )
    print(f"| materialize (cold) | {plan_s:.2f} s | {plan_peak / 1e6:.1f} MB |")
    print(f"| materialize (second run) | {plan2_s:.2f} s | – |")


if __name__ == "__main__":
    main()
