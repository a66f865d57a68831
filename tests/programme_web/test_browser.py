"""The calendar page and the emergency two-step flow in headless Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Emergency, PlaybackEvent, utcnow
from broadcaster.publish import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules.emergency import occurrence_id

from .conftest import AddFn, add_slot, local

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def live(app: Flask) -> Iterator[tuple[str, MemoryPublisher]]:
    from werkzeug.serving import make_server

    sent = MemoryPublisher()
    app.extensions["broadcaster"].command_publisher = CommandPublisher(
        Signer.generate(), sent, Topics("loa/v1")
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", sent
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        try:
            yield pg
        finally:
            rep = getattr(request.node, "rep_call", None)
            if rep is None or rep.failed:
                pg.screenshot(path=f"/tmp/broadcaster-{request.node.name}.png", full_page=True)
            context.close()
            browser.close()


def _login(page, base: str, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


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
    _login(page, base, "canbo", "canbo1234")
    page.get_by_role("link", name="Lịch tuần").first.click()
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
    _login(page, base, "pheduyet", "pheduyet123")
    page.get_by_role("link", name="Phát khẩn cấp").click()
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
    now = utcnow()
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
    page.wait_for_function(
        "document.querySelector('tr[data-site=\"cum-loa-t2\"] .badge').textContent === 'Đã phát xong'",
        timeout=8000,
    )
    data = page.request.get(f"{base}/emergency/{em.id}/status.json").json()
    stages = {s["site"]: s["stage"] for s in data["sites"]}
    assert stages == {"cum-loa-t2": "finished", "dai-xa": "waiting"}
