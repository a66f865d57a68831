"""The scheduler runtime with an injected clock: only affected sites are republished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcaster.clock import FakeClock
from broadcaster.models import Announcement, ScheduleItem, User, Zone
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules.runtime import (
    DELIVERY_JOB,
    MISFIRE_GRACE_S,
    NOTICE_JOB,
    PRUNE_JOB,
    PUBLISH_JOB,
    ROLLUP_JOB,
    SchedulerRuntime,
)
from tests.schedules.conftest import DEMO_SITES

from .conftest import media_row

NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def sites_sent(pub: MemoryPublisher, since: int) -> set[str]:
    return {topic.split("/")[3] for topic, *_ in pub.sent[since:]}


def test_a_change_republishes_only_the_affected_sites(settings, db, session, add_approved) -> None:
    session.commit()
    clock = FakeClock(NOW)
    pub = MemoryPublisher()
    plans = PlanPublisher(Signer.generate(), pub, Topics("loa/v1"), timedelta(hours=48))
    runtime = SchedulerRuntime(settings, db, plans, clock)

    first = runtime.publish_plans()
    assert set(first) == DEMO_SITES  # every site gets a plan once
    clock.advance(timedelta(seconds=3))
    assert runtime.publish_plans() == {}  # nothing changed, nothing sent

    with db() as s, s.begin():
        editor = s.query(User).filter_by(username="bientap").one()
        ann = Announcement(
            title="Họp thôn 2",
            body="Mời họp",
            status="approved",
            author_id=editor.id,
            media=media_row(s, 30, "rt"),
            zones=[s.get(Zone, "thon-2")],
            decided_at=NOW,
        )
        ann.schedule.append(ScheduleItem(start_at=NOW + timedelta(hours=2), rrule="FREQ=DAILY"))
        s.add(ann)
    clock.advance(timedelta(seconds=3))
    before = len(pub.sent)
    changed = runtime.publish_plans()
    assert set(changed) == {"dai-xa", "cum-loa-t2"} == sites_sent(pub, before)
    assert all(v > first[s] for s, v in changed.items())

    # Periodically (hourly) every site is refreshed so its plan never expires; a targeted call
    # touches only the sites it names.
    clock.advance(timedelta(hours=1, seconds=1))
    assert set(runtime.publish_plans(site_ids=["cum-loa-t1"])) == {"cum-loa-t1"}
    assert set(runtime.publish_plans()) == DEMO_SITES - {"cum-loa-t1"}


def test_jobs_have_stable_ids_coalescing_and_misfire_grace(settings, db) -> None:
    plans = PlanPublisher(Signer.generate(), MemoryPublisher(), Topics("t"), timedelta(hours=1))
    runtime = SchedulerRuntime(settings, db, plans, FakeClock(NOW))
    runtime._scheduler.start(paused=True)  # jobs exist, nothing runs
    try:
        runtime.add_jobs()
        runtime.add_jobs()  # a restart re-registers under the same id instead of duplicating
        job = runtime.job()
        ids = sorted(j.id for j in runtime._scheduler.get_jobs())
        assert job.id == PUBLISH_JOB and ids == sorted(
            [PUBLISH_JOB, DELIVERY_JOB, NOTICE_JOB, ROLLUP_JOB, PRUNE_JOB]
        )
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE_S
        assert job.next_run_time == NOW  # first run at the injected clock's now
        deliveries = runtime.job(DELIVERY_JOB)
        assert deliveries.coalesce is True and deliveries.max_instances == 1
        assert deliveries.misfire_grace_time == MISFIRE_GRACE_S
        rollup = runtime.job(ROLLUP_JOB)
        assert rollup.trigger.interval.total_seconds() == settings.rollup_refresh_interval_s
        prune = runtime.job(PRUNE_JOB)
        assert prune.trigger.interval.total_seconds() == settings.prune_interval_s
    finally:
        runtime.stop()


def test_the_rollup_job_refreshes_what_was_marked(settings, db) -> None:
    """The scheduler's job brings the reports' roll-ups up to date, and commits."""
    from broadcaster import rollups
    from broadcaster.models import Playback, ReportSiteDay
    from schedules.programme_import import import_demo

    with db() as s, s.begin():
        import_demo(s)
        s.add(Playback(site_id="dai-xa", item_id="x-1", scheduled_at=NOW, status="finished"))
    plans = PlanPublisher(Signer.generate(), MemoryPublisher(), Topics("t"), timedelta(hours=1))
    runtime = SchedulerRuntime(settings, db, plans, FakeClock(NOW))
    assert runtime.refresh_rollups() >= 1
    with db() as s:
        assert rollups.pending(s) == 0
        assert s.query(ReportSiteDay).count() == 1
