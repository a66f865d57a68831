"""The scheduler runtime with real millisecond plan versions, on SQLite and on PostgreSQL
(skipped with a message when PostgreSQL is absent).

Plan versions are milliseconds since the epoch (about 1.8e12, past 32 bits). With a 32-bit
column PostgreSQL refused them ("integer out of range"): each tick republished the first site's
plan and never reached the others (issue 9). Every site must get its plan once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock, FakeClock, SystemClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory
from broadcaster.models import Announcement, Media, ScheduleItem, Site, SitePlan, User, Zone
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.plan import Plan
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from schedules.runtime import SchedulerRuntime

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SITES = ("cum-loa-a", "cum-loa-b", "cum-loa-c", "dai-xa")
TOPICS = Topics("loa/v1")
INT32_MAX = 2**31 - 1


@pytest.fixture
def factory(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database with four sites in one zone and nothing scheduled yet."""
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        zone = Zone(id="thon-1", name="Thôn 1")
        s.add_all([Site(id=site, name=site, zones=[zone]) for site in SITES])
        s.add(User(username="bien-tap", display_name="Biên tập", password_hash="x", role="editor"))
    yield factory
    engine.dispose()


def add_airing(factory: sessionmaker[Session], start_at: datetime, tag: str) -> None:
    """An approved announcement to the zone (every site) at ``start_at``."""
    with factory() as s, s.begin():
        sha = hashlib.sha256(tag.encode()).hexdigest()
        ann = Announcement(
            title=f"Thông báo {tag}",
            body="Nội dung",
            status="approved",
            author_id=s.scalars(select(User.id)).one(),
            decided_at=start_at - timedelta(hours=1),
            media=Media(sha256=sha, ext="mp3", size=1000, duration_ms=30_000),
            zones=[s.get(Zone, "thon-1")],
        )
        ann.schedule.append(ScheduleItem(start_at=start_at))
        s.add(ann)


def make_runtime(
    tmp_path, factory: sessionmaker[Session], clock: Clock, interval_s: float = 3.0
) -> tuple[SchedulerRuntime, MemoryPublisher, Signer]:
    settings = Settings.load(
        env={},
        media_dir=str(tmp_path / "media"),
        signing_key_file=str(tmp_path / "signing-key.pem"),
        plan_publish_interval_s=interval_s,
    )
    signer, pub = Signer.generate(), MemoryPublisher()
    plans = PlanPublisher(signer, pub, TOPICS, timedelta(hours=settings.plan_horizon_hours))

    def no_render(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("no relay here needs a fallback rendered")

    return SchedulerRuntime(settings, factory, plans, clock, render=no_render), pub, signer


def plans_sent(pub: MemoryPublisher, signer: Signer) -> list[Plan]:
    """The plans published, verified against the signer's key."""
    verifier = Verifier([signer.public_b64])
    out = []
    for topic, payload, qos, retain in pub.sent:
        plan = Plan.from_dict(verifier.open(payload))
        assert topic == TOPICS.plan(plan.site) and (qos, retain) == (1, True)
        out.append(plan)
    return out


def stored_versions(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {p.site_id: p.version for p in s.scalars(select(SitePlan))}


def test_every_site_gets_its_plan_once_with_ms_versions(factory, tmp_path, caplog) -> None:
    add_airing(factory, NOW + timedelta(hours=2), "a")
    clock = FakeClock(NOW)
    runtime, pub, signer = make_runtime(tmp_path, factory, clock)
    runtime._scheduler.start(paused=True)  # the job as registered; ticks are run below
    try:
        runtime.add_jobs()
        tick = runtime.job().func
        with caplog.at_level(logging.WARNING):
            for _ in range(5):  # fifteen seconds of ticks, three seconds apart
                tick()
                clock.advance(timedelta(seconds=3))
    finally:
        runtime.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    plans = plans_sent(pub, signer)
    assert Counter(p.site for p in plans) == dict.fromkeys(SITES, 1)  # each once, none missed
    assert {p.version for p in plans} == {NOW_MS} and NOW_MS > INT32_MAX
    assert all(len(p.items) == 1 for p in plans)
    assert stored_versions(factory) == dict.fromkeys(SITES, NOW_MS)

    # A change republishes every site once more, with a later millisecond version.
    add_airing(factory, NOW + timedelta(hours=3), "b")
    later = clock.now()
    assert runtime.publish_plans() == dict.fromkeys(SITES, int(later.timestamp() * 1000))
    assert stored_versions(factory) == dict.fromkeys(SITES, int(later.timestamp() * 1000))
    assert runtime.publish_plans() == {}


def test_the_running_scheduler_publishes_each_site_once(factory, tmp_path, caplog) -> None:
    """The APScheduler thread at a fast interval, on the system clock (versions are now's
    milliseconds, whatever the date): several ticks, one plan per site, no error logged (a tick skipped on a busy machine is only a warning)."""
    clock = SystemClock()
    add_airing(factory, clock.now() + timedelta(hours=1), "now")
    runtime, pub, signer = make_runtime(tmp_path, factory, clock, interval_s=0.3)
    ticks = threading.Semaphore(0)
    runtime._scheduler.add_listener(lambda _event: ticks.release(), EVENT_JOB_EXECUTED)
    before = int(clock.now().timestamp() * 1000)
    with caplog.at_level(logging.WARNING):
        runtime.start()
        try:
            for _ in range(6):
                assert ticks.acquire(timeout=10), "the publish job did not run"
        finally:
            runtime.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    plans = plans_sent(pub, signer)
    assert Counter(p.site for p in plans) == dict.fromkeys(SITES, 1)
    versions = stored_versions(factory)
    assert versions == {p.site: p.version for p in plans}
    assert all(v >= before > INT32_MAX for v in versions.values())
