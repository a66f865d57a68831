"""Replays of airings an emergency cut off (issue 13), on SQLite and PostgreSQL: ingest records a
cut once, the scheduler puts the replay in the next free time the same local day (or says why
not), and the plans (reference and incremental) carry the replay instead of the cut airing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from broadcaster.ingest import Ingestor
from broadcaster.interrupted import CUT_BY_EMERGENCY, replay_id
from broadcaster.models import (
    Announcement,
    InterruptedAiring,
    Media,
    Playback,
    ScheduleItem,
    Site,
    User,
    Zone,
)
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import replays
from schedules.calendar import site_week
from schedules.plan_cache import PlanCache
from schedules.planner import materialize
from schedules.recurrence import to_utc

LOCAL_DAY = datetime(2026, 12, 1)  # a Tuesday, Asia/Ho_Chi_Minh
URL = "http://srv"
HORIZON = timedelta(hours=24)


def local(h: int, m: int = 0, s: int = 0) -> datetime:
    return to_utc(LOCAL_DAY.replace(hour=h, minute=m, second=s))


@pytest.fixture
def factory(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        zones = [Zone(id="z1", name="Thôn 1"), Zone(id="z2", name="Thôn 2")]
        s.add_all(zones)
        s.add(Site(id="cut", name="Cụm loa bị cắt", zones=[zones[0]]))
        s.add(Site(id="calm", name="Cụm loa yên", zones=[zones[1]]))
        s.add(User(username="u", display_name="u", password_hash="x", role="approver"))
    yield factory
    engine.dispose()


def announce(
    s: Session, title: str, at: datetime, seconds: int, *, zones=("z1", "z2"), priority="normal"
) -> str:
    """An approved, rendered announcement airing once at ``at``; its occurrence id."""
    ann = Announcement(
        title=title,
        body="b",
        priority=priority,
        status="approved",
        author_id=s.scalar(select(User.id)),
        decided_at=at - timedelta(days=1),
        media=Media(sha256=uuid.uuid4().hex * 2, ext="mp3", size=1, duration_ms=seconds * 1000),
        zones=list(s.scalars(select(Zone).where(Zone.id.in_(zones)))),
    )
    item = ScheduleItem(start_at=at)
    ann.schedule.append(item)
    s.add(ann)
    s.flush()
    for site in ("cut", "calm"):  # sent in the sites' plans, as the publisher records it
        s.add(Playback(site_id=site, item_id=item.occurrence_id(at), announcement_id=ann.id,
                       scheduled_at=at))  # fmt: skip
    return item.occurrence_id(at)


def cut_event(s: Session, item_id: str, at: datetime, seq: int = 1, site: str = "cut") -> Event:
    ann_id = s.scalar(
        select(Playback.announcement_id).where(Playback.item_id == item_id.removesuffix("-r"))
    )
    return Event(
        id=str(uuid.uuid4()),
        site=site,
        outbox="ob",
        seq=seq,
        kind="interrupted",
        at=at,
        item_id=item_id,
        announcement_id=ann_id,
        detail=f"{CUT_BY_EMERGENCY}s99-1",
    )


def ingestor(factory: sessionmaker[Session], at: datetime) -> Ingestor:
    return Ingestor(factory, Signer.generate(), MemoryPublisher(), Topics("loa/v1"), FakeClock(at))


def rows(factory: sessionmaker[Session]) -> list[InterruptedAiring]:
    with factory() as s:
        return list(s.scalars(select(InterruptedAiring).order_by(InterruptedAiring.id)))


def decide(factory: sessionmaker[Session], now: datetime, lead: timedelta = timedelta(0)) -> int:
    with factory() as s, s.begin():
        return replays.decide(s, now, lead=lead)


def plans(factory: sessionmaker[Session], now: datetime) -> dict[str, list[tuple[str, datetime]]]:
    with factory() as s:
        ref = materialize(s, now, HORIZON, URL)
        cached = PlanCache(URL).materialize(s, now, HORIZON)
    assert cached == ref  # the incremental planner agrees
    return {site: [(i.id, i.start) for i in items] for site, items in ref.items()}


def test_replay_takes_the_next_free_time_the_same_day(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Lịch tiêm chủng", local(10), 60)
        emergency = announce(s, "Khẩn", local(10, 0, 30), 30, zones=("z1",), priority="emergency")
        after = announce(s, "Họp thôn", local(10, 1, 30), 60)
        event = cut_event(s, x, local(10, 0, 30))
    ingestor(factory, local(10, 0, 31)).store_events([event])
    [row] = rows(factory)
    assert (row.site_id, row.item_id, row.state) == ("cut", x, "pending")

    assert decide(factory, local(10, 0, 31)) == 1
    [row] = rows(factory)
    # The 26 s between the emergency's end and the next airing are too short for 60 s.
    assert (row.state, row.replay_at, row.reason) == ("planned", local(10, 2, 32), "")

    plan = plans(factory, local(10, 0, 40))
    assert (replay_id(x), local(10, 2, 32)) in plan["cut"]
    assert x not in {i for i, _ in plan["cut"]}  # the cut airing left the plan, not "moved"
    assert (emergency, local(10, 0, 30)) in plan["cut"] and (after, local(10, 1, 30)) in plan["cut"]
    assert plan["calm"] == [(x, local(10)), (after, local(10, 1, 30))]  # not cut there

    assert decide(factory, local(10, 0, 50)) == 0  # decided once
    assert rows(factory)[0].replay_at == local(10, 2, 32)


def test_nothing_free_before_midnight_is_not_replayed(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Bản tin tối", local(23, 50), 300)
        announce(s, "Khẩn", local(23, 52), 30, zones=("z1",), priority="emergency")
        announce(s, "Nhạc cuối ngày", local(23, 52, 40), 420)  # until 23:59:40
        event = cut_event(s, x, local(23, 52))
    ingestor(factory, local(23, 52, 1)).store_events([event])
    decide(factory, local(23, 52, 1))
    [row] = rows(factory)
    assert (row.state, row.replay_at, row.reason) == ("none", None, "no-free-time")
    assert x not in {i for i, _ in plans(factory, local(23, 52, 5))["cut"]}


def test_decided_after_the_day_ended_is_not_replayed(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Bản tin", local(20), 60)
        event = cut_event(s, x, local(20, 0, 20))
    ingestor(factory, local(20, 0, 21)).store_events([event])
    decide(factory, local(0) + timedelta(days=1, minutes=5))  # the scheduler was down
    assert [(r.state, r.reason) for r in rows(factory)] == [("none", "day-over")]


def test_a_cut_is_recorded_and_replayed_once(factory) -> None:
    """The event twice (resent, or a second ingest worker), a second cut of the same airing,
    the replay cut again, and the scheduler deciding again: one row, one replay."""
    with factory() as s, s.begin():
        x = announce(s, "Thông báo", local(9), 120)
        announce(s, "Khẩn", local(9, 0, 30), 20, zones=("z1",), priority="emergency")
        first = cut_event(s, x, local(9, 0, 30), seq=1)
        other = cut_event(s, x, local(9, 0, 31), seq=2)  # another event id, same airing
        stop = cut_event(s, x, local(9, 0, 32), seq=3)
    stop = Event(**{**stop.__dict__, "detail": "stopped by command"})  # not an emergency's cut
    ingest = ingestor(factory, local(9, 0, 33))
    ingest.store_events([first])
    ingest.store_events([first, other])
    ingestor(factory, local(9, 0, 33)).store_events([other, stop])  # another worker
    assert len(rows(factory)) == 1
    decide(factory, local(9, 0, 33))
    decide(factory, local(9, 0, 40))
    [row] = rows(factory)
    assert row.state == "planned" and row.replay_at == local(9, 0, 52)

    with factory() as s, s.begin():  # the replay went out in the plan, then was cut too
        s.add(Playback(site_id="cut", item_id=replay_id(x), announcement_id=row.announcement_id,
                       scheduled_at=row.replay_at))  # fmt: skip
        again = cut_event(s, replay_id(x), local(9, 1), seq=4)
    ingest.store_events([again])
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(InterruptedAiring)) == 1
    assert decide(factory, local(9, 1, 1)) == 0


def test_an_unsent_airing_or_another_announcement_is_not_recorded(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Thông báo", local(9), 120)
        wrong = cut_event(s, x, local(9, 0, 30))
        stranger = cut_event(s, "s424242-1764554400", local(9, 0, 30), seq=2)
    wrong = Event(**{**wrong.__dict__, "announcement_id": wrong.announcement_id + 1})
    ingestor(factory, local(9, 0, 31)).store_events([wrong, stranger])
    assert rows(factory) == []


def test_a_replay_waits_for_the_lead_and_skips_a_withdrawn_announcement(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Thông báo", local(8), 60)
        y = announce(s, "Thông báo khác", local(8, 30), 60)
        events = [cut_event(s, x, local(8, 0, 10)), cut_event(s, y, local(8, 30, 10), seq=2)]
    ingestor(factory, local(8, 30, 11)).store_events(events)
    with factory() as s, s.begin():
        ann = s.get(Announcement, rows(factory)[1].announcement_id)
        assert ann is not None
        ann.status = "withdrawn"
    decide(factory, local(8, 30, 11), lead=timedelta(seconds=20))
    first, second = rows(factory)
    assert first.replay_at == local(8, 30, 31)  # not in the past: now + the lead
    assert (second.state, second.reason) == ("none", "cancelled")


def test_the_calendar_shows_the_cut_and_its_replay_never_moved(factory) -> None:
    with factory() as s, s.begin():
        x = announce(s, "Lịch tiêm chủng", local(10), 60)
        announce(s, "Khẩn", local(10, 0, 30), 30, zones=("z1",), priority="emergency")
        y = announce(s, "Bản tin tối", local(23, 59), 120)
        events = [cut_event(s, x, local(10, 0, 30)), cut_event(s, y, local(23, 59, 30), seq=2)]
    with factory() as s:  # before the event: the planner packs the cut airing after the
        [day] = [d for d in site_week(s, "cut", LOCAL_DAY.date()).days if d.day == LOCAL_DAY.date()]
        assert [e.clash for e in day.entries if e.key == x] == ["moved"]  # emergency (the bug)
    with factory() as s, s.begin():  # the site reports it started: it aired, it was not moved
        s.execute(update(Playback).where(Playback.item_id == x).values(started_at=local(10)))
    with factory() as s:
        [day] = [d for d in site_week(s, "cut", LOCAL_DAY.date()).days if d.day == LOCAL_DAY.date()]
        [entry] = [e for e in day.entries if e.key == x]
        assert (entry.start, entry.clash) == (local(10), "")
    ingestor(factory, local(23, 59, 31)).store_events(events)
    with factory() as s, s.begin():
        replays.decide(s, local(10, 0, 31))  # x at 10:01:02; y: nothing free before midnight
    with factory() as s:
        week = site_week(s, "cut", LOCAL_DAY.date())
    [day] = [d for d in week.days if d.day == LOCAL_DAY.date()]
    by_key = {(e.kind, e.key): e for e in day.entries}
    cut, replay = by_key[("interrupted", x)], by_key[("airing", replay_id(x))]
    assert (cut.start, cut.end, cut.replay_at) == (local(10), local(10, 0, 30), local(10, 1, 2))
    assert (replay.start, replay.replay_of, replay.clash) == (local(10, 1, 2), local(10, 0, 30), "")
    assert by_key[("interrupted", y)].not_replayed == "no-free-time"
    assert not any(e.clash == "moved" for e in day.entries)
    assert ("airing", x) not in by_key and ("airing", y) not in by_key


def test_two_cuts_decided_together_take_different_free_times(factory) -> None:
    """The scheduler was away while two emergencies cut two airings of one site: decided in
    one tick, one after the other, each in its own free time."""
    with factory() as s, s.begin():
        x = announce(s, "Sáng", local(10), 60)
        y = announce(s, "Trưa", local(11), 90)
        events = [cut_event(s, x, local(10, 0, 30)), cut_event(s, y, local(11, 0, 30), seq=2)]
    ingestor(factory, local(11, 0, 31)).store_events(events)
    assert decide(factory, local(11, 0, 31), lead=timedelta(seconds=20)) == 2
    first, second = rows(factory)
    assert first.replay_at == local(11, 0, 51)
    assert second.replay_at == local(11, 0, 51) + timedelta(seconds=60 + 2)  # after it, a gap
    plan = plans(factory, local(11, 0, 40))
    assert [i for i, _ in plan["cut"]] == [replay_id(x), replay_id(y)]


def test_a_moved_airing_the_site_did_not_play_is_not_shown_as_moved(factory) -> None:
    with factory() as s, s.begin():
        announce(s, "Khẩn", local(10, 0, 30), 30, zones=("z1",), priority="emergency")
        z = announce(s, "Đúng giờ khẩn", local(10, 0, 40), 30)

    def entry() -> object:
        with factory() as s:
            week = site_week(s, "cut", LOCAL_DAY.date())
        [day] = [d for d in week.days if d.day == LOCAL_DAY.date()]
        [found] = [e for e in day.entries if e.key == z]
        return found

    moved = entry()
    assert (moved.clash, moved.start) == ("moved", local(10, 1, 2))  # ahead: it will be moved
    with factory() as s, s.begin():
        s.execute(
            update(Playback)
            .where(Playback.item_id == z, Playback.site_id == "cut")
            .values(status="skipped", detail="late")
        )
    skipped = entry()
    assert (skipped.clash, skipped.not_aired) == ("", "skipped")
