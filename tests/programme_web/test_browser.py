"""The calendar page and the emergency two-step flow in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import SYSTEM_CLOCK  # these apps run on the system clock
from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Emergency, PlaybackEvent
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules.emergency import occurrence_id
from tests.support.browser import chromium_page, login, nav_click
from tests.support.webapp import serve

from .conftest import AddFn, add_slot, local

pytestmark = pytest.mark.browser


@pytest.fixture
def live(app: Flask) -> Iterator[tuple[str, MemoryPublisher]]:
    sent = MemoryPublisher()
    app.extensions["broadcaster"].command_publisher = CommandPublisher(
        Signer.generate(), sent, Topics("loa/v1")
    )
    with serve(app) as url:
        yield url, sent


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    phone = {"width": 390, "height": 844}
    with chromium_page(request, viewport=phone, timeout_ms=15_000) as pg:
        yield pg


def test_calendar_week_navigation_and_clashes(
    live: tuple[str, MemoryPublisher],
    page,
    db: sessionmaker[Session],
    add_approved: AddFn,  # noqa: ANN001
) -> None:
    base, _ = live
    add_slot(db, "Buổi chiều", time(17, 0), time(17, 10))
    add_approved(local(2027, 3, 2, 16, 0), title="Họp dân", seconds=360, slot="Buổi chiều")
    add_approved(local(2027, 3, 2, 16, 30), title="Tiêm phòng", seconds=360, slot="Buổi chiều")
    add_approved(local(2027, 3, 9, 8, 0), title="Tuần sau")
    login(page, base, "canbo", "canbo1234")
    nav_click(page, "Lịch tuần")
    page.get_by_role("link", name="Thôn 1", exact=True).click()
    page.goto(page.url + "?week=2027-03-03")
    tuesday = page.get_by_role("region", name="Thứ Ba 02/03")
    assert tuesday.is_visible()
    assert "17:00–17:10 · Buổi chiều" in tuesday.inner_text()
    clash = tuesday.locator(".cal-entry.clash")
    assert "Tiêm phòng" in clash.inner_text() and "Không vừa khung giờ" in clash.inner_text()
    assert page.locator(".clash-count").inner_text() == "1 chỗ trùng lịch"
    # one column per day on a phone: the days stack
    boxes = [page.locator(".cal-day").nth(i).bounding_box() for i in range(2)]
    assert boxes[1]["y"] > boxes[0]["y"] and abs(boxes[1]["x"] - boxes[0]["x"]) < 1
    page.get_by_role("link", name="Tuần sau →").click()
    page.wait_for_load_state()
    assert "week=2027-03-08" in page.url and "Tuần sau" in page.locator(".cal-week").inner_text()
    assert page.locator(".clash-count").count() == 0


def test_emergency_in_two_steps_then_live_status(
    live: tuple[str, MemoryPublisher],
    page,
    db: sessionmaker[Session],  # noqa: ANN001
) -> None:
    base, sent = live
    login(page, base, "pheduyet", "pheduyet123")
    nav_click(page, "Phát khẩn cấp")
    page.get_by_label("Thôn 2", exact=True).check()
    page.get_by_label("Tiêu đề").fill("Cảnh báo lũ")
    page.get_by_label("Nội dung cần đọc").fill("Nước sông lên nhanh, bà con di chuyển lên chỗ cao.")
    page.get_by_label("Lý do").fill("Tin khẩn của huyện")
    page.get_by_role("button", name="Xem lại trước khi phát").click()  # step 1
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Xác nhận phát khẩn cấp"
    assert page.locator("audio").get_attribute("src").startswith("/media/")
    assert sent.sent == []
    page.get_by_role("button", name="Phát ngay").click()  # step 2
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Cảnh báo lũ"
    assert [t for t, *_ in sent.sent] == ["loa/v1/zones/thon-2/cmd"]
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        item_id = occurrence_id(em)
    row = page.locator('tr[data-site="cum-loa-t2"] .badge')
    assert row.inner_text() == "Chưa phản hồi"
    now = SYSTEM_CLOCK.now()
    with transaction(db) as s:
        for n, kind in enumerate(("received", "started", "finished"), 1):
            s.add(
                PlaybackEvent(
                    id=f"e{n}",
                    site_id="cum-loa-t2",
                    outbox="o",
                    seq=n,
                    kind=kind,
                    at=now + timedelta(seconds=n),
                    item_id=item_id,
                )
            )
    # the page polls every 2 s and updates the row without a reload
    # (a locator assertion: wait_for_function evaluates a string, which the CSP forbids)
    expect(row).to_have_text("Đã phát xong", timeout=8000)
    data = page.request.get(f"{base}/emergency/{em.id}/status.json").json()
    stages = {s["site"]: s["stage"] for s in data["sites"]}
    assert stages == {"cum-loa-t2": "finished", "dai-xa": "waiting"}
