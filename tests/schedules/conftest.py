"""Fixtures for programme tests: the demo commune, users, rendered media without TTS, helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import Announcement, Media, ScheduleItem, Slot, Unit, User, Zone
from schedules.programme_import import import_demo

# Every speaker site of the demo province (both communes).
DEMO_SITES = {"dai-xa", "cum-loa-t1", "cum-loa-t2", "dm-cum-loa-t3", "dm-cum-loa-kt"}

# The demo's province staff: one user per role, whose role covers every demo commune.
PROVINCE_STAFF = select(User).join(User.unit).where(Unit.parent_id.is_(None))


@pytest.fixture
def session(db: sessionmaker[Session]) -> Iterator[Session]:
    with db() as s, s.begin():
        import_demo(s)
        s.flush()
        yield s


@pytest.fixture
def users(session: Session) -> dict[str, User]:
    return {u.role: u for u in session.scalars(PROVINCE_STAFF)}


def media_row(session: Session, seconds: float, tag: str = "") -> Media:
    """A media row of the given length (the planner needs only its metadata)."""
    sha = hashlib.sha256(f"{seconds}-{tag}".encode()).hexdigest()
    media = session.get(Media, sha)
    if media is None:
        media = Media(sha256=sha, ext="mp3", size=1000, duration_ms=int(seconds * 1000))
        session.add(media)
    return media


def make_slot(session: Session, name: str, start: str, end: str, days: str = "") -> Slot:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    slot = Slot(name=name, start=time(h1, m1), end=time(h2, m2))
    if days:
        slot.days = days
    session.add(slot)
    session.flush()
    return slot


AddFn = Callable[..., Announcement]


@pytest.fixture
def add_approved(session: Session, users: dict[str, User]) -> AddFn:
    """Insert an approved, rendered announcement directly (fast; the workflow has its tests)."""
    counter = iter(range(1, 10_000))

    def add(
        start_at: datetime,
        *,
        zones: tuple[str, ...] = ("thon-1",),
        seconds: float = 60,
        rrule: str = "",
        slot: Slot | None = None,
        valid_until: datetime | None = None,
        priority: str = "normal",
        campaign_id: int | None = None,
        decided_at: datetime | None = None,
        status: str = "approved",
    ) -> Announcement:
        n = next(counter)
        ann = Announcement(
            title=f"Thông báo {n}",
            body="Nội dung",
            priority=priority,
            status=status,
            author_id=users["editor"].id,
            approver_id=users["approver"].id,
            decided_at=decided_at or start_at,
            media=media_row(session, seconds, str(n)),
            zones=list(session.scalars(select(Zone).where(Zone.id.in_(zones)))),
            campaign_id=campaign_id,
        )
        ann.schedule.append(
            ScheduleItem(start_at=start_at, rrule=rrule, slot=slot, valid_until=valid_until)
        )
        session.add(ann)
        session.flush()
        return ann

    return add
