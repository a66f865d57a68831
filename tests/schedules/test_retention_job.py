"""The scheduler's retention job with the real planner and publisher and an injected clock:
audio an edit replaced goes only once every site has been sent a plan made after the job saw it
unused for the grace period; previews and old refused messages go; 0 turns the job off."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.store import MediaStore
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.models import Announcement, Media, RejectedMessage, SitePlan
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules.runtime import PRUNE_JOB, SchedulerRuntime
from tests.support.clock import FIXED_NOW

from .conftest import DEMO_SITES, AddFn, media_row

NOW = FIXED_NOW
LONG_AGO = NOW - timedelta(days=60)


def _runtime(settings: Settings, db: sessionmaker[Session], clock: FakeClock) -> SchedulerRuntime:
    plans = PlanPublisher(
        Signer.generate(), MemoryPublisher(), Topics("loa/v1"), timedelta(hours=48)
    )
    return SchedulerRuntime(settings, db, plans, clock)


def _file(store: MediaStore, media: Media, used_at: datetime) -> None:
    path = store.path(media.sha256, media.ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(media.sha256.encode())
    t = used_at.timestamp()
    os.utime(path, (t, t))


def test_the_job_removes_replaced_audio_after_every_site_has_a_newer_plan(
    settings: Settings,
    db: sessionmaker[Session],
    session: Session,
    add_approved: AddFn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MediaStore(settings.media_dir)
    ann = add_approved(NOW + timedelta(hours=2), zones=("thon-1",))
    assert ann.media is not None
    before = ann.media
    _file(store, before, LONG_AGO)
    session.add(
        RejectedMessage(
            site_id="dai-xa", kind="event", reason="malformed", received_at=NOW - timedelta(days=91)
        )
    )
    session.commit()
    preview = store.put(b"a preview never saved", "mp3")
    os.utime(store.path(preview, "mp3"), (LONG_AGO.timestamp(),) * 2)
    clock = FakeClock(NOW)
    runtime = _runtime(settings, db, clock)
    assert set(runtime.publish_plans()) == DEMO_SITES

    clock.advance(timedelta(minutes=1))
    with db() as s, s.begin():
        after = media_row(s, 61, "edited")
        _file(store, after, clock.now())
        s.get(Announcement, ann.id).media = after  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=3))
    assert runtime.publish_plans()  # the sites of thon-1 get the new audio; the others not
    clock.advance(timedelta(seconds=3))
    runtime._prune_job()
    assert not store.exists(preview, "mp3")  # no row, long unused
    with db() as s:
        assert s.scalars(select(RejectedMessage)).all() == []
        assert s.get(Media, before.sha256) is not None  # seen unused only now
        marked = clock.now()

    clock.advance(settings.media_prune_grace_hours * timedelta(hours=1) + timedelta(minutes=1))
    with db() as s:
        assert min(s.scalars(select(SitePlan.published_at))) < marked
    runtime._prune_job()  # some site's retained plan predates the mark: kept
    assert store.exists(before.sha256, "mp3")
    assert set(runtime.publish_plans()) == DEMO_SITES  # the hourly refresh, to every site
    runtime._prune_job()
    assert not store.exists(before.sha256, "mp3")
    with db() as s:
        assert s.get(Media, before.sha256) is None
        assert s.get(Media, after.sha256) is not None
    assert store.exists(after.sha256, "mp3")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_no_retention_job_when_its_interval_is_0(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    runtime = _runtime(settings.replace(prune_interval_s=0), db, FakeClock(NOW))
    runtime._scheduler.start(paused=True)
    try:
        runtime.add_jobs()
        assert runtime.job(PRUNE_JOB) is None
        assert runtime.job() is not None
    finally:
        runtime.stop()
