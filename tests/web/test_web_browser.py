"""The whole walking skeleton in headless Chromium, with the real (espeak-ng) renderer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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


@pytest.fixture
def live_url(settings: Settings, db: sessionmaker[Session]) -> Iterator[str]:
    """The app with the real renderer, served by werkzeug on a free port in a thread."""
    with transaction(db) as session:
        import_demo(session)
    app = create_app(settings, sessions=db)  # real renderer: tts_engine="espeak"
    with serve(app) as url:
        yield url


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    with chromium_page(request, viewport={"width": 1200, "height": 900}) as pg:
        yield pg


def _login(page, base: str, username: str, password: str) -> None:  # noqa: ANN001
    browser.login(page, base, username, password)
    assert page.locator(".who .user").is_visible()


def _logout(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Đăng nhập").is_visible()


def test_write_submit_listen_approve_schedule(live_url: str, page) -> None:  # noqa: ANN001
    base = live_url
    title = "Thông báo họp dân thôn 1"
    _login(page, base, "bientap", "bientap123")
    browser.nav_click(page, "Soạn bản tin")
    page.get_by_label("Tiêu đề").fill(title)
    page.get_by_label("Nội dung cần đọc").fill(
        "Kính mời bà con thôn 1 đến nhà văn hóa thôn lúc tám giờ sáng mai để họp bàn "
        "về việc phòng chống bão lụt."
    )
    page.get_by_label("Thôn 1", exact=True).check()
    # The quick button sets now + 1 minute in Asia/Ho_Chi_Minh.
    page.get_by_role("button", name="+1 phút").click()
    value = page.get_by_label("Thời gian phát").input_value()
    local_now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    chosen = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    assert timedelta(0) < chosen - local_now <= timedelta(minutes=2), value
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    assert "Bản nháp" in page.content()

    page.get_by_role("button", name="Gửi duyệt").click()  # renders with espeak-ng
    page.wait_for_load_state()
    assert "Chờ duyệt" in page.locator(".badge").first.inner_text()
    detail_url = page.url
    _logout(page)

    _login(page, base, "pheduyet", "pheduyet123")
    page.goto(detail_url)
    src = page.locator("audio").get_attribute("src")
    assert src and src.startswith("/media/") and src.endswith(".mp3")
    media = page.request.get(base + src)
    assert media.ok and media.headers["content-type"] == "audio/mpeg"
    assert len(media.body()) > 1000 and media.body()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert "giọng đọc: espeak" in page.content()
    # Give the approval some lead: move the time to 5 minutes from now.
    later = (local_now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#start_at").fill(later)
    page.get_by_role("button", name="Phê duyệt").click()
    page.wait_for_load_state()
    assert "Đã duyệt" in page.locator(".badge").first.inner_text()

    browser.nav_click(page, "Lịch phát")
    row = page.locator("tr", has_text=title)
    assert row.count() == 1
    assert "Thôn 1" in row.inner_text() and "Cụm loa thôn 1" in row.inner_text()
