"""The bulletin pages on a phone, in headless Chromium: the province writes and approves, a
commune accepts from its inbox; no page is wider than the screen and none breaks the CSP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.config import Settings
from broadcaster.db import transaction
from schedules.programme_import import import_demo
from tests.support import browser
from tests.support.browser import chromium_page
from tests.support.webapp import serve
from web import create_app

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_url(settings: Settings, db: sessionmaker[Session]) -> Iterator[str]:
    with transaction(db) as session:
        import_demo(session)  # its daily slots included
    app = create_app(settings, sessions=db)  # real renderer: espeak-ng
    with serve(app) as url:
        yield url


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with chromium_page(request, viewport=PHONE) as pg:
        yield pg


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a phone"


def _switch(page: Any, base: str, username: str, password: str) -> None:
    if page.locator("#logout").count():
        page.locator("#logout").click()
        page.wait_for_load_state()
    browser.login(page, base, username, password)


def test_write_approve_and_accept_on_a_phone(live_url: str, page: Any) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _switch(page, live_url, "bientap", "bientap123")
    page.goto(f"{live_url}/bulletins/new")
    _fits(page)
    page.get_by_label("Tiêu đề").fill("Lịch tiêm phòng gia súc")
    page.get_by_label("Nội dung cần đọc").fill("Tỉnh thông báo lịch tiêm phòng gia súc.")
    page.get_by_label("Xã Đắk Hà").check()
    page.get_by_label("Xã Đắk Mar").check()
    page.get_by_role("button", name="Gửi duyệt").click()
    page.wait_for_load_state()
    assert page.get_by_text("Đang chờ một người phê duyệt khác").is_visible()
    _fits(page)
    detail = page.url

    _switch(page, live_url, "pheduyet", "pheduyet123")
    page.goto(detail)
    page.get_by_role("button", name="Duyệt và gửi").click()
    page.wait_for_load_state()
    assert page.get_by_text("Đã duyệt và gửi xuống các xã.").is_visible()
    _fits(page)

    _switch(page, live_url, "bientap-dh", "bientap123")
    browser.nav_click(page, "Tin cấp trên")  # its badge: one waits, in the inbox
    assert page.get_by_role("heading", name="Hộp tin từ cấp trên").is_visible()
    _fits(page)
    page.get_by_role("link", name="Lịch tiêm phòng gia súc").click()
    page.get_by_label("Khung giờ phát").select_option(label="Bản tin chiều (17:00–17:30)")
    page.get_by_role("button", name="Nhận vào chương trình của xã").click()
    page.wait_for_load_state()
    assert page.get_by_text("Đã nhận vào chương trình của xã.").is_visible()
    _fits(page)

    _switch(page, live_url, "canbo", "canbo1234")
    page.goto(detail)
    rows = page.locator("#communes tbody tr")
    assert rows.count() == 2
    assert "Đã nhận phát" in rows.nth(0).inner_text()
    assert "Trong hộp tin đến" in rows.nth(1).inner_text()
    _fits(page)
    assert not violations, violations
