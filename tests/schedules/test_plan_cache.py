"""The incremental planner (schedules.plan_cache) gives exactly the reference planner's plans,
through random programmes and random edits, and redoes only what an edit touches."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import make_engine, session_factory
from broadcaster.models import (
    Announcement,
    AnnouncementVersion,
    Cancellation,
    InterruptedAiring,
    Media,
    PlanMark,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    User,
    Zone,
)
from schedules.plan_cache import REBUILD_EVERY, PlanCache
from schedules.planner import item_airings, materialize

T0 = datetime(2026, 12, 1, tzinfo=UTC)
HORIZON = timedelta(hours=48)
URL = "http://srv"
ZONES = {"z1": "vi", "z2": "vi", "z3": "ede"}
SITES = {"s-all": ["z1", "z2", "z3"], "s1": ["z1"], "s2": ["z2"], "s3": ["z3"], "s12": ["z1", "z2"]}
RULES = [
    "",
    "FREQ=DAILY",
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0",
]
PRIORITY = st.sampled_from(["normal", "normal", "priority", "emergency"])


@st.composite
def programmes(draw: st.DrawFn) -> dict:
    items = [
        {
            "offset_min": draw(st.integers(-120, 40 * 60)),
            "seconds": draw(st.integers(5, 1200)),
            "zones": draw(st.lists(st.sampled_from(sorted(ZONES)), max_size=3, unique=True)),
            "rrule": draw(st.sampled_from(RULES)),
            "slot": draw(st.one_of(st.none(), st.integers(0, 1))),
            "priority": draw(PRIORITY),
            "campaign": draw(st.booleans()),
            "version": draw(st.booleans()),  # a recorded Ê Đê version
            "valid_hours": draw(st.one_of(st.none(), st.integers(1, 60))),
        }
        for _ in range(draw(st.integers(1, 10)))
    ]
    relays = draw(
        st.lists(
            st.tuples(
                st.integers(0, 23),
                st.integers(60, 3 * 3600),
                st.sampled_from(sorted(ZONES)),
                st.booleans(),
            ),
            max_size=2,
        )
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(EDITS),
                st.integers(0, 1000),  # which row
                st.integers(0, 6 * 60),  # minutes the clock moves on
            ),
            max_size=5,
        )
    )
    return {"items": items, "relays": relays, "steps": steps}


def build(s: Session, programme: dict, now: datetime) -> None:
    zones = {z: Zone(id=z, name=z, language=lang) for z, lang in ZONES.items()}
    for sid, zs in SITES.items():
        s.add(Site(id=sid, name=sid, zones=[zones[z] for z in zs]))
    user = User(username="u", display_name="u", password_hash="x", role="editor")
    slots = [
        Slot(name="Sáng", start=time(6), end=time(6, 45)),
        Slot(name="Chiều", start=time(17), end=time(17, 30)),
    ]
    s.add_all([user, *slots])
    fallback = Media(sha256="f" * 64, ext="mp3", size=1, duration_ms=7000)
    for i, (h, dur, z, has_fallback) in enumerate(programme["relays"]):
        s.add(
            Relay(
                name=f"r{i}",
                stream_url="http://r",
                start=time(h),
                duration_s=dur,
                zones=[zones[z]],
                fallback=fallback if has_fallback else None,
            )
        )
    s.flush()
    for i, it in enumerate(programme["items"]):
        ann = Announcement(
            title=f"a{i}",
            body="b",
            priority=it["priority"],
            status="approved",
            author_id=user.id,
            decided_at=T0 - timedelta(minutes=i % 3),
            media=Media(sha256=f"{i:064x}", ext="mp3", size=1, duration_ms=it["seconds"] * 1000),
            zones=[zones[z] for z in it["zones"]],
        )
        if it["version"]:
            media = Media(sha256=f"e{i:063x}", ext="mp3", size=2, duration_ms=it["seconds"] * 900)
            ann.versions.append(AnnouncementVersion(language="ede", media=media))
        start = now + timedelta(minutes=it["offset_min"])
        ann.schedule.append(
            ScheduleItem(
                start_at=start,
                rrule=it["rrule"],
                slot=slots[it["slot"]] if it["slot"] is not None else None,
                valid_until=start + timedelta(hours=it["valid_hours"])
                if it["valid_hours"]
                else None,
            )
        )
        s.add(ann)


def _nth(s: Session, model: type, n: int):  # type: ignore[no-untyped-def]
    rows = list(s.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]
    return rows[n % len(rows)] if rows else None


def edit_priority(s: Session, n: int) -> None:
    if ann := _nth(s, Announcement, n):
        ann.priority = ["normal", "priority", "emergency"][n % 3]


def edit_move(s: Session, n: int) -> None:
    if item := _nth(s, ScheduleItem, n):
        item.start_at += timedelta(minutes=(n % 90) - 45)


def edit_zones(s: Session, n: int) -> None:
    if ann := _nth(s, Announcement, n):
        ann.zones = [s.get(Zone, z) for z in sorted(ZONES) if n >> ZONES_BITS[z] & 1]


ZONES_BITS = {z: i for i, z in enumerate(sorted(ZONES))}


def edit_cancel(s: Session, n: int) -> None:
    if ann := _nth(s, Announcement, n):
        ann.status = "cancelled"


def edit_delete(s: Session, n: int) -> None:
    if ann := _nth(s, Announcement, n):
        s.delete(ann)


def edit_add_item(s: Session, n: int) -> None:
    if ann := _nth(s, Announcement, n):
        ann.schedule.append(ScheduleItem(start_at=T0 + timedelta(hours=n % 72), rrule=RULES[n % 4]))


def edit_relay(s: Session, n: int) -> None:
    if relay := _nth(s, Relay, n):
        relay.active = not relay.active


def edit_site_zones(s: Session, n: int) -> None:
    site = s.get(Site, "s1")
    assert site is not None
    site.zones = [s.get(Zone, "z3" if n % 2 else "z1")]  # type: ignore[list-item]


def edit_new_site(s: Session, n: int) -> None:
    s.add(Site(id=f"new{n}", name="mới", zones=[s.get(Zone, "z2")]))


def edit_cancel_airing(s: Session, n: int) -> None:
    """One airing cancelled on its own (issue 13): a cancellations row."""
    if (item := _nth(s, ScheduleItem, n)) is None:
        return
    airings = item_airings(item, T0 - timedelta(days=1), T0 + timedelta(days=9), sites=frozenset())
    if airings:
        s.add(
            Cancellation(
                announcement_id=item.announcement_id,
                schedule_item=item,
                kind="airing",
                airing_at=airings[n % len(airings)].start,
                reason="r",
                by_id=s.scalar(select(User.id)),
                at=T0,
            )
        )


def edit_cut_airing(s: Session, n: int) -> None:
    """An emergency cut one airing at one site (issue 13): replayed later that day, or not."""
    if (item := _nth(s, ScheduleItem, n)) is None:
        return
    airings = item_airings(item, T0 - timedelta(days=1), T0 + timedelta(days=9), sites=frozenset())
    if not airings:
        return
    a = airings[n % len(airings)]
    site = sorted(SITES)[n % len(SITES)]
    if s.scalar(select(InterruptedAiring).filter_by(site_id=site, item_id=a.item_id)):
        return
    planned = n % 3 != 0
    s.add(
        InterruptedAiring(
            site_id=site,
            item_id=a.item_id,
            announcement_id=item.announcement_id,
            schedule_item_id=item.id,
            nominal=a.start,
            interrupted_at=a.start + timedelta(seconds=5),
            cut_by="s0-0",
            state="planned" if planned else "none",
            replay_at=a.start + timedelta(minutes=20 + n % 60) if planned else None,
            reason="" if planned else "no-free-time",
        )
    )


def edit_heartbeat(s: Session, n: int) -> None:
    s.execute(update(Site).values(state="online", last_seen_at=T0))


EDITS = [
    edit_priority,
    edit_move,
    edit_zones,
    edit_cancel,
    edit_delete,
    edit_add_item,
    edit_relay,
    edit_site_zones,
    edit_new_site,
    edit_cancel_airing,
    edit_cut_airing,
    edit_heartbeat,
]


def reference(factory: sessionmaker[Session], now: datetime) -> dict:
    with factory() as s:
        return materialize(s, now, HORIZON, URL)


def cached(factory: sessionmaker[Session], cache: PlanCache, now: datetime) -> dict:
    with factory() as s:
        return cache.materialize(s, now, HORIZON)


@pytest.fixture(scope="module")
def template(migrated_sqlite_template: Path) -> Path:
    return migrated_sqlite_template


@given(programmes(), st.integers(0, 7 * 24))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_cache_equals_the_reference_through_edits(template: Path, programme, now_hours) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.sqlite3"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        factory = session_factory(engine)
        now = T0 + timedelta(hours=now_hours)
        with factory() as s, s.begin():
            build(s, programme, now)
        cache = PlanCache(URL, rebuild_every=timedelta(days=30))  # edits go the incremental way
        try:
            assert cached(factory, cache, now) == reference(factory, now)
            for edit, n, minutes in programme["steps"]:
                with factory() as s, s.begin():
                    edit(s, n)
                now += timedelta(minutes=minutes)
                assert cached(factory, cache, now) == reference(factory, now), edit.__name__
        finally:
            engine.dispose()
    event(f"rebuilds: {min(cache.rebuilds, 3)}; updates: {min(cache.updates, 3)}")


def test_edits_redo_only_what_they_touch(any_db_url: str) -> None:
    """On SQLite and PostgreSQL: the triggers' marks make an edit re-read one announcement
    (and re-pack only its sites); a heartbeat changes nothing; a site's zones rebuild all."""
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    programme = {
        "items": [
            {"offset_min": 30 + 60 * i, "seconds": 60, "zones": zs, "rrule": "FREQ=DAILY",
             "slot": None, "priority": "normal", "campaign": False, "version": False,
             "valid_hours": None}
            for i, zs in enumerate([["z1"], ["z2"], ["z1", "z2", "z3"]])
        ],
        "relays": [(12, 600, "z3", True)],
    }  # fmt: skip
    with factory() as s, s.begin():
        build(s, programme, T0)
    cache = PlanCache(URL)
    try:
        first = cached(factory, cache, T0)
        assert first == reference(factory, T0)
        assert (cache.rebuilds, cache.updates) == (1, 0)
        assert first["s1"] is not first["s2"] and first["s-all"] is not first["s1"]

        with factory() as s, s.begin():
            edit_heartbeat(s, 0)
        second = cached(factory, cache, T0 + timedelta(seconds=3))
        assert (cache.rebuilds, cache.updates) == (1, 0)
        assert [k for k in first if second[k] is not first[k]] == []  # nothing packed again

        with factory() as s, s.begin():
            ann = s.scalars(select(Announcement).where(Announcement.title == "a0")).one()
            ann.schedule[0].start_at += timedelta(minutes=7)
        third = cached(factory, cache, T0 + timedelta(seconds=6))
        assert (cache.rebuilds, cache.updates) == (1, 1)
        assert third == reference(factory, T0 + timedelta(seconds=6))
        changed = {k for k in third if third[k] is not second[k]}
        assert changed == {"s1", "s12", "s-all"}  # the sites of zone z1
        with factory() as s:
            marks = dict(s.execute(select(PlanMark.announcement_id, PlanMark.version)).all())
        assert marks[ann.id] > 1

        with factory() as s, s.begin():
            edit_site_zones(s, 1)
        fourth = cached(factory, cache, T0 + timedelta(seconds=9))
        assert cache.rebuilds == 2
        assert fourth == reference(factory, T0 + timedelta(seconds=9))
        assert fourth["s1"] == fourth["s3"] != third["s1"]

        class Broken(RuntimeError):
            pass

        with factory() as s, s.begin():
            edit_priority(s, 2)
        with factory() as s:  # the database fails halfway through the update
            calls = []
            execute = s.execute

            def fail_second(*args: object, **kwargs: object) -> object:
                calls.append(args)
                if len(calls) == 2:  # the marks were read, the announcement's zones fail
                    raise Broken
                return execute(*args, **kwargs)  # type: ignore[arg-type]

            s.execute = fail_second  # type: ignore[method-assign]
            with pytest.raises(Broken):
                cache.materialize(s, T0 + timedelta(seconds=9), HORIZON)
        after = cached(factory, cache, T0 + timedelta(seconds=9))  # read again in full
        assert after == reference(factory, T0 + timedelta(seconds=9))
        assert cache.rebuilds == 3

        later = T0 + timedelta(seconds=9) + REBUILD_EVERY  # the safety net reads all again
        assert cached(factory, cache, later) == reference(factory, later)
        assert cache.rebuilds == 4
    finally:
        engine.dispose()


def _migration_0014():  # type: ignore[no-untyped-def]
    import importlib.util

    import broadcaster.db

    path = Path(broadcaster.db.__file__).parent / "migrations" / "versions" / "0014_plan_marks.py"
    spec = importlib.util.spec_from_file_location("plan_marks_0014", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_plan_mark_trigger_exists_at_head(any_db_url: str) -> None:
    """SQLite's batch migrations rebuild a table and lose its triggers: a later migration that
    rebuilds one of these tables must create its triggers again (else edits go unseen)."""
    engine = make_engine(any_db_url)
    migration = _migration_0014()
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                expected = {name for name, _table, _ddl in migration._pg_triggers()}
                found = set(
                    conn.execute(
                        text(
                            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                            " JOIN pg_namespace n ON n.oid = c.relnamespace"
                            " WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
                        )
                    ).scalars()
                )
            else:
                expected = {name for name, _ddl in migration._sqlite_triggers()}
                found = set(
                    conn.execute(
                        text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    ).scalars()
                )
    finally:
        engine.dispose()
    assert expected and expected <= found, sorted(expected - found)
