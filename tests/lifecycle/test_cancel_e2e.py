"""Cancel one airing of a series in the web, as a person does it (headless Chromium on a desktop,
1366×768, and a phone, 390×844): the scheduler's next ticks publish a new plan over a real
Mosquitto, and the real agent's stored plan no longer has that airing (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.store import Store
from broadcaster.broker import PrivateBroker
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.keys import following_signer, load_or_create_signer
from broadcaster.models import Announcement, ScheduleItem, User, Zone
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.publish import PlanPublisher
from broadcaster.wire.topics import Topics
from schedules.runtime import SchedulerRuntime
from tests.lifecycle.conftest import sqlite_copy
from tests.programme_web.conftest import TZ, media_row
from tests.support.agents import AgentProcess, file_agent_config, wait_for
from tests.support.browser import VIEWPORTS, chromium_page, login
from tests.support.webapp import PASSWORDS, flask_app, serve
from tests.web.conftest import FakeRenderer

pytestmark = pytest.mark.browser

SITE = "cum-loa-t1"


@pytest.fixture
def clock_start() -> None:
    return None  # the system clock: a real agent process plays on the wall clock


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


def _series(db: sessionmaker[Session], clock: Clock) -> int:
    """Approved by the province's approver: every day at 06:00 from tomorrow, four times."""
    first = clock.now().astimezone(TZ).replace(hour=6, minute=0, second=0, microsecond=0)
    with transaction(db) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        ann = Announcement(
            title="Lịch tiêm phòng",
            body="Nội dung",
            status="approved",
            author_id=users["bientap"].id,
            approver_id=users["pheduyet"].id,
            decided_at=clock.now(),
            media=media_row(s, 20, "e2e"),
            zones=list(s.scalars(select(Zone).where(Zone.id == "thon-1"))),
        )
        ann.schedule.append(
            ScheduleItem(start_at=first + timedelta(days=1), rrule="FREQ=DAILY;COUNT=4")
        )
        s.add(ann)
        s.flush()
        return ann.id


def _agent_plan(state_dir: Path, ann_id: int) -> set[str]:
    """The airings of the announcement in the plan the agent stored."""
    db_file = state_dir / "agent.sqlite3"
    if not db_file.exists():
        return set()
    with Store(db_file, SITE) as store:
        current = store.plan()
    if current is None:
        return set()
    items = json.loads(current[1])["items"]
    return {i["id"] for i in items if i.get("announcement_id") == ann_id}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_cancelling_one_airing_reaches_the_agents_plan(
    request: pytest.FixtureRequest,
    viewport: str,
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    broker: PrivateBroker,
    clock: Clock,
    tmp_path: Path,
) -> None:
    broker.add_agent(SITE, ["thon-1"])
    broker.start()
    # Four days ahead: the whole series is in the plan, whatever the hour now.
    settings = settings.replace(**broker.server_mqtt(), plan_horizon_hours=120)
    with flask_app(settings, db, renderer, clock=clock) as app:
        ann_id = _series(db, clock)
        topics = Topics(settings.topic_root)
        link = Link(settings.mqtt_options(), unique_client_id("scheduler"))
        plans = PlanPublisher(
            following_signer(settings.signing_key_file),
            link,
            topics,
            timedelta(hours=settings.plan_horizon_hours),
        )
        runtime = SchedulerRuntime(settings, db, plans, clock)
        assert link.start(wait=10)
        account = next(a for a in broker.agents if a.site == SITE)
        signer = load_or_create_signer(settings.signing_key_file)
        agent = AgentProcess(file_agent_config(account, broker.port, signer, tmp_path), tmp_path)
        agent.start()
        state = tmp_path / "agent-state"
        try:

            def agent_has(predicate):  # noqa: ANN001, ANN202
                runtime._publish_job()  # the scheduler's job (every 3 s in production)
                return predicate(_agent_plan(state, ann_id))

            wait_for(lambda: agent_has(lambda ids: len(ids) >= 2), 30, "the series in the plan")
            before = _agent_plan(state, ann_id)
            with db() as s:
                item = s.scalars(
                    select(ScheduleItem).where(ScheduleItem.announcement_id == ann_id)
                ).one()
                second = item.start_at + timedelta(days=1)
                cancelled = item.occurrence_id(second)
            assert cancelled in before

            with (
                serve(app) as base,
                chromium_page(request, viewport=VIEWPORTS[viewport]) as page,
            ):
                login(page, base, "pheduyet", PASSWORDS["pheduyet"])
                page.goto(f"{base}/announcements/{ann_id}")
                page.get_by_label("Lượt phát", exact=True).select_option(
                    f"{item.id}:{int(second.timestamp())}"
                )
                page.get_by_label("Chỉ lượt phát này").check()
                page.get_by_label("Lý do hủy").fill("Trùng lịch họp")
                page.get_by_role("button", name="Hủy lượt phát").click()
                page.wait_for_load_state()
                expect(page.get_by_text("Đã hủy lượt phát.")).to_be_visible()
                expect(page.locator("ul.airings li.cancelled")).to_have_count(1)
            wait_for(
                lambda: agent_has(lambda ids: cancelled not in ids and ids),
                30,
                "the agent's plan without the cancelled airing",
            )
            assert _agent_plan(state, ann_id) == before - {cancelled}
        finally:
            agent.stop()
            link.stop()
