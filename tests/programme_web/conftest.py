"""Fixtures for the programme pages: the web app on the demo commune, logins, and a helper that
inserts approved, rendered announcements directly (the workflow has its own tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from broadcaster.db import transaction
from broadcaster.models import Announcement, Media, ScheduleItem, Slot, Unit, User, Zone
from tests.web.conftest import (  # noqa: F401  (fixtures reused from the web tests)
    PASSWORDS,
    app,
    client,
    clock_start,
    pytest_runtest_makereport,
    renderer,
    sample_mp3,
)

# The demo's province staff: one user per role, whose role covers every demo commune.
PROVINCE_STAFF = select(User).join(User.unit).where(Unit.parent_id.is_(None))

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    """An aware datetime from local (Asia/Ho_Chi_Minh) wall-clock parts."""
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


LoginFn = Callable[[str], TestResponse]


@pytest.fixture
def login(client: FlaskClient) -> LoginFn:  # noqa: F811 - the fixture
    def do(username: str) -> TestResponse:
        client.post("/logout")
        return client.post("/login", data={"username": username, "password": PASSWORDS[username]})

    return do


def media_row(session: Session, seconds: float, tag: str) -> Media:
    sha = hashlib.sha256(f"{seconds}-{tag}".encode()).hexdigest()
    media = session.get(Media, sha)
    if media is None:
        media = Media(sha256=sha, ext="mp3", size=1000, duration_ms=int(seconds * 1000))
        session.add(media)
    return media


AddFn = Callable[..., Announcement]


@pytest.fixture
def add_approved(db: sessionmaker[Session], app: Flask) -> AddFn:  # noqa: F811
    """Insert (and commit) an approved, rendered announcement; returns it detached."""
    counter = iter(range(1, 10_000))

    def add(
        start_at: datetime,
        *,
        title: str = "",
        zones: tuple[str, ...] = ("thon-1",),
        seconds: float = 60,
        rrule: str = "",
        slot: str | None = None,
        priority: str = "normal",
        campaign_id: int | None = None,
        decided_at: datetime | None = None,
    ) -> Announcement:
        n = next(counter)
        with transaction(db) as session:
            users = {u.role: u for u in session.scalars(PROVINCE_STAFF)}
            ann = Announcement(
                title=title or f"Thông báo {n}",
                body="Nội dung thông báo",
                priority=priority,
                status="approved",
                author_id=users["editor"].id,
                approver_id=users["approver"].id,
                decided_at=decided_at or start_at,
                media=media_row(session, seconds, str(n)),
                zones=list(session.scalars(select(Zone).where(Zone.id.in_(zones)))),
                campaign_id=campaign_id,
            )
            slot_row = session.scalar(select(Slot).where(Slot.name == slot)) if slot else None
            ann.schedule.append(ScheduleItem(start_at=start_at, rrule=rrule, slot=slot_row))
            session.add(ann)
            session.flush()
            session.expunge(ann)
        return ann

    return add


def add_slot(db: sessionmaker[Session], name: str, start: time, end: time, days: str = "") -> int:
    with transaction(db) as session:
        slot = Slot(name=name, start=start, end=end)
        if days:
            slot.days = days
        session.add(slot)
        session.flush()
        return slot.id
