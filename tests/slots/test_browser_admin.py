"""The administrator's day in headless Chromium, on a desktop (1366×768) and a phone (390×844)
(issue 13): a user, a zone, a site, a daily slot and a relay made in the web; the site's agent
bundle downloaded and started on a real Mosquitto from the broker files the web wrote; and the
scheduler's next publishing puts the new relay, and an airing in the new slot, in the real
agent's stored plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.store import Store
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.keys import following_signer
from broadcaster.models import Slot, User
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.publish import PlanPublisher
from broadcaster.wire.topics import Topics
from schedules import workflow
from schedules.recurrence import to_local
from schedules.runtime import SchedulerRuntime
from tests.lifecycle.conftest import sqlite_copy
from tests.support.agents import AgentProcess, wait_for
from tests.support.browser import VIEWPORTS, chromium_page, fits_the_screen, login, nav_click
from tests.support.bundle import provisioned_mosquitto, unpack
from tests.support.webapp import PASSWORDS, flask_app, serve
from tests.web.conftest import FakeRenderer

pytestmark = pytest.mark.browser

SITE, ZONE = "cum-loa-t9", "thon-9"
STREAM = "https://radio.example/vov1"
SERVER_PASSWORD = "the-server-s-own-password-123"


@pytest.fixture
def clock_start() -> None:
    return None  # the system clock: a real agent process plays on the wall clock


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


@pytest.fixture
def app(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    clock: Clock,
    tmp_path: Path,
) -> Iterator[Flask]:
    settings = settings.replace(
        broker_dir=str(tmp_path / "broker"), mqtt_password=SERVER_PASSWORD, mqtt_host="127.0.0.1"
    )
    with flask_app(settings, db, renderer, clock=clock) as app:
        yield app


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with chromium_page(request, viewport=VIEWPORTS[request.param], timeout_ms=20_000) as pg:
        yield pg


def _save(page: Any) -> None:
    assert fits_the_screen(page)
    page.get_by_role("button", name="Lưu", exact=True).click()
    page.wait_for_load_state()


def _make_everything_in_the_web(page: Any, base: str) -> bytes:
    """As the province's administrator; returns the downloaded bundle."""
    login(page, base, "quantri", PASSWORDS["quantri"])

    page.goto(f"{base}/users/new")
    page.get_by_label("Tên đăng nhập").fill("bientap-t9")
    page.get_by_label("Họ và tên").fill("Y Blang (biên tập, thôn 9)")
    page.get_by_label("Vai trò").select_option("editor")
    page.get_by_label("Đơn vị").select_option(label="Xã Đắk Hà (62001)")
    page.get_by_label("Mật khẩu", exact=True).fill("bientap-t9-123")
    page.get_by_label("Nhập lại mật khẩu").fill("bientap-t9-123")
    assert fits_the_screen(page)
    page.get_by_role("button", name="Tạo người dùng").click()
    page.wait_for_load_state()
    expect(page.locator("#users")).to_contain_text("bientap-t9")

    page.goto(f"{base}/places/zones/new")
    page.get_by_label("Mã (dùng trong lịch phát và nhật ký)").fill(ZONE)
    page.get_by_label("Tên", exact=True).fill("Thôn 9")
    page.get_by_label("Xã", exact=True).select_option(label="Xã Đắk Hà")
    _save(page)
    page.goto(f"{base}/places/sites/new")
    page.get_by_label("Mã (dùng trong lịch phát và nhật ký)").fill(SITE)
    page.get_by_label("Tên", exact=True).fill("Cụm loa thôn 9 - sân bóng")
    page.get_by_label("Xã", exact=True).select_option(label="Xã Đắk Hà")
    page.get_by_label("Thôn 9 (Xã Đắk Hà)").check()
    page.get_by_label("Vĩ độ").fill("14.6801")
    page.get_by_label("Kinh độ").fill("107.9402")
    _save(page)
    expect(page.locator("h1")).to_have_text("Cụm loa thôn 9 - sân bóng")

    nav_click(page, "Khung giờ và tiếp sóng")
    page.get_by_role("link", name="Thêm khung giờ").click()
    page.get_by_label("Tên khung giờ").fill("Bản tin tối")
    page.get_by_label("Bắt đầu lúc").fill("19:00")
    page.get_by_label("Kết thúc lúc").fill("18:00")
    _save(page)
    expect(page.get_by_text("Giờ kết thúc phải sau giờ bắt đầu")).to_be_visible()
    page.get_by_label("Kết thúc lúc").fill("19:30")
    _save(page)
    expect(page.get_by_text("Đã lưu.")).to_be_visible()
    expect(page.locator("#slots")).to_contain_text("19:00–19:30")

    page.get_by_role("link", name="Thêm lịch tiếp sóng").click()
    page.get_by_label("Chương trình tiếp sóng").fill("Thời sự tối VOV1")
    page.get_by_label("Địa chỉ luồng phát (http hoặc https)").fill("rtsp://radio.example/vov1")
    page.get_by_label("Bắt đầu lúc").fill("20:00")
    page.get_by_label("Thời lượng (phút)").fill("30")
    page.get_by_label("Thôn 9 (Xã Đắk Hà)").check()
    _save(page)
    expect(page.get_by_text("bắt đầu bằng http:// hoặc https://")).to_be_visible()
    page.get_by_label("Địa chỉ luồng phát (http hoặc https)").fill(STREAM)
    _save(page)
    expect(page.get_by_text("Đã lưu.")).to_be_visible()
    expect(page.locator("#relays")).to_contain_text("Thời sự tối VOV1")
    expect(page.locator("#relays")).to_contain_text("20:00–20:30")
    assert fits_the_screen(page)

    page.goto(f"{base}/places/sites/{SITE}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tạo thông tin kết nối và tải gói cài đặt").click()
    return Path(download.value.path()).read_bytes()


def _agent_items(state_dir: Path) -> list[dict[str, Any]]:
    db_file = state_dir / "agent.sqlite3"
    if not db_file.exists():
        return []
    with Store(db_file, SITE) as store:
        current = store.plan()
    return [] if current is None else list(json.loads(current[1])["items"])


def _local_hhmm(wire: str) -> str:
    return f"{to_local(datetime.fromisoformat(wire.replace('Z', '+00:00'))):%H:%M}"


def test_the_administrator_sets_up_a_site_and_its_programme_in_the_web(
    app: Flask,
    page: Any,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    clock: Clock,
    tmp_path: Path,
) -> None:
    with serve(app) as base:
        bundle = _make_everything_in_the_web(page, base)
        settings = app.extensions["broadcaster"].settings
        bundled = unpack(bundle, tmp_path / "bundle", SITE)
        assert bundled.site == SITE and list(bundled.zones) == [ZONE]

        with transaction(db) as s:
            users = {u.username: u for u in s.scalars(select(User))}
            slot = s.scalars(select(Slot).where(Slot.name == "Bản tin tối")).one()
            ann = workflow.create_announcement(
                s,
                users["bientap-t9"],
                title="Họp thôn 9",
                body="Tối nay họp thôn 9 tại nhà văn hóa.",
                zone_ids=[ZONE],
                start_at=clock.now() + timedelta(minutes=5),  # then its slot's next window
                slot_id=slot.id,
                now=clock.now(),
            )
            workflow.submit(s, ann, users["bientap-t9"], renderer, now=clock.now())
            workflow.approve(s, ann, users["pheduyet-dh"], now=clock.now())
            ann_id = ann.id

        with provisioned_mosquitto(Path(settings.broker_dir)) as broker:
            server = settings.replace(
                mqtt_port=broker.server_port, mqtt_username="server", public_url=base
            )
            link = Link(server.mqtt_options(), unique_client_id("scheduler"))
            plans = PlanPublisher(
                following_signer(server.signing_key_file),
                link,
                Topics(server.topic_root),
                timedelta(hours=server.plan_horizon_hours),
            )
            runtime = SchedulerRuntime(server, db, plans, clock)
            assert link.start(wait=10), broker.log()
            agent = AgentProcess(broker.agent_config(bundled, tmp_path), tmp_path)
            agent.start()
            try:

                def planned() -> list[dict[str, Any]]:
                    runtime._publish_job()  # the scheduler's job (every 3 s in production)
                    items = _agent_items(tmp_path / "state")
                    relayed = [i for i in items if i.get("stream", {}).get("url") == STREAM]
                    aired = [i for i in items if i["announcement_id"] == ann_id]
                    return items if relayed and aired else []

                items = wait_for(planned, 30, "the relay and the slot's airing in the agent's plan")
            finally:
                agent.stop()
                link.stop()
        relay = next(i for i in items if i.get("stream", {}).get("url") == STREAM)
        assert (
            _local_hhmm(relay["start"]) == "20:00" and relay["stream"]["duration_ms"] == 1_800_000
        )
        aired = next(i for i in items if i["announcement_id"] == ann_id)
        assert _local_hhmm(aired["start"]) == "19:00"
        assert f"as agent-{SITE}" in broker.log() and "not authorised" not in broker.log()
