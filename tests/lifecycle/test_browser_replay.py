"""The week calendar shows an airing an emergency cut off, its replay and the rule, in headless
Chromium on a desktop (1366×768) and a phone (390×844) (issue 13). The cuts come in through
ingest and the scheduler decides their replays, as in production; the suite's fixed clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.ingest import Ingestor
from broadcaster.interrupted import CUT_BY_EMERGENCY, replay_id
from broadcaster.models import (
    Announcement,
    InterruptedAiring,
    Playback,
    ScheduleItem,
    User,
    Zone,
)
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import replays
from schedules.recurrence import to_local, to_utc
from tests.lifecycle.conftest import sqlite_copy
from tests.programme_web.conftest import media_row
from tests.support.browser import VIEWPORTS, axe_violations, chromium_page, fits_the_screen, login
from tests.support.clock import FIXED_NOW
from tests.support.webapp import PASSWORDS, serve

pytestmark = pytest.mark.browser

SITE = "cum-loa-t1"  # in thôn 1
DAY = to_local(FIXED_NOW).date()  # Monday 4 March 2030


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


@pytest.fixture
def any_db_url(settings: Settings) -> str:
    return settings.database_url  # one database here: tests/schedules/test_replays.py runs both


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    with chromium_page(request, viewport=VIEWPORTS[request.param], timeout_ms=15_000) as pg:
        yield pg


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return to_utc(datetime.combine(DAY, datetime.min.time()).replace(hour=h, minute=m, second=s))


def _airing(s: Session, title: str, start: datetime, seconds: int, priority: str = "normal") -> str:
    users = {u.username: u for u in s.scalars(select(User))}
    ann = Announcement(
        title=title,
        body="Nội dung",
        status="approved",
        priority=priority,
        author_id=users["bientap"].id,
        approver_id=users["pheduyet"].id,
        decided_at=start - timedelta(days=1),
        media=media_row(s, seconds, title),
        zones=list(s.scalars(select(Zone).where(Zone.id == "thon-1"))),
    )
    item = ScheduleItem(start_at=start)
    ann.schedule.append(item)
    s.add(ann)
    s.flush()
    occurrence = item.occurrence_id(start)
    s.add(Playback(site_id=SITE, item_id=occurrence, announcement_id=ann.id, scheduled_at=start,
                   started_at=start))  # fmt: skip
    return occurrence


def _cut(item_id: str, ann_id: int, when: datetime, seq: int) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        site=SITE,
        outbox="ob",
        seq=seq,
        kind="interrupted",
        at=when,
        item_id=item_id,
        announcement_id=ann_id,
        detail=f"{CUT_BY_EMERGENCY}s1-1",
    )


def _cuts(db: sessionmaker[Session]) -> tuple[str, str, datetime]:
    """Two airings cut by emergencies that day: one replayed, one too late in the evening."""
    with transaction(db) as s:
        morning = _airing(s, "Lịch tiêm chủng mở rộng", at(10), 60)
        _airing(s, "Cảnh báo lũ", at(10, 0, 30), 30, "emergency")
        late = _airing(s, "Họp tổ dân phố", at(10, 0, 40), 30)  # due during the emergency
        s.execute(
            update(Playback)
            .where(Playback.item_id == late)
            .values(started_at=None, status="skipped", detail="too late")
        )
        evening = _airing(s, "Bản tin cuối ngày", at(23, 55), 300)
        _airing(s, "Cảnh báo lũ lần hai", at(23, 56), 30, "emergency")
        anns = dict(s.execute(select(Playback.item_id, Playback.announcement_id)).all())
    events = [_cut(morning, anns[morning], at(10, 0, 30), 1)]
    events.append(_cut(evening, anns[evening], at(23, 56), 2))
    Ingestor(db, Signer.generate(), MemoryPublisher(), Topics("loa/v1"), FakeClock(at(23, 56, 1)))\
        .store_events(events)  # fmt: skip
    with transaction(db) as s:
        replays.decide(s, at(10, 0, 31))  # the morning's cut
    with transaction(db) as s:
        replays.decide(s, at(23, 56, 1))  # the evening's: after the morning's was decided
        s.flush()
    with db() as s:
        replay_at = s.scalar(
            select(InterruptedAiring.replay_at).where(InterruptedAiring.item_id == morning)
        )
    assert replay_at is not None
    return morning, evening, replay_at


def test_the_week_calendar_shows_the_replay_and_its_rule(
    live: str,
    page,
    db: sessionmaker[Session],  # noqa: ANN001
) -> None:
    morning, evening, replay_at = _cuts(db)
    login(page, live, "bientap", PASSWORDS["bientap"])
    page.goto(f"{live}/calendar/site/{SITE}?week={DAY.isoformat()}")
    expect(page.locator("#replay-rule")).to_contain_text(
        "Quy tắc phát lại: tin bị tin khẩn cấp cắt ngang sẽ được phát lại trọn vẹn vào khoảng "
        "trống đầu tiên sau đó"
    )
    hhmm = to_local(replay_at).strftime("%H:%M")
    cut = page.locator(f'article.cal-entry.interrupted[data-key="{morning}"]')
    expect(cut).to_contain_text("Bị cắt ngang")
    expect(cut).to_contain_text("Bị tin khẩn cấp cắt ngang lúc 10:00.")
    expect(cut).to_contain_text(f"Phát lại lúc {hhmm}")
    replay = page.locator(f'article.cal-entry.replay[data-key="{replay_id(morning)}"]')
    expect(replay).to_contain_text(hhmm)
    expect(replay.locator(".tag.replay-tag")).to_have_text("Phát lại")
    expect(replay).to_contain_text("Phát lại lượt bị tin khẩn cấp cắt ngang lúc 10:00")
    expect(replay).to_contain_text("Lịch tiêm chủng mở rộng")
    late = page.locator(f'article.cal-entry.interrupted[data-key="{evening}"]')
    expect(late).to_contain_text("Không phát lại: trong ngày không còn khoảng trống")
    expect(
        page.locator(f'article.cal-entry.replay[data-key="{replay_id(evening)}"]')
    ).to_have_count(0)
    expect(page.get_by_text("Dời từ")).to_have_count(0)  # nothing that did not air is "moved"
    expect(page.locator("article.cal-entry", has_text="Họp tổ dân phố")).to_contain_text(
        "Không phát"
    )
    replay.scroll_into_view_if_needed()
    expect(replay).to_be_in_viewport()
    assert fits_the_screen(page)
    serious = axe_violations(page)
    assert not serious, serious
