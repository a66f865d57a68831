"""Edit a rejected announcement, and cancel one airing of a series, as people do it: in headless
Chromium on a desktop (1366×768) and a phone (390×844) (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock
from broadcaster.config import Settings
from schedules.planner import materialize
from tests.lifecycle.conftest import sqlite_copy
from tests.lifecycle.test_web_lifecycle import _approved_series, _id_from
from tests.support.browser import VIEWPORTS, chromium_page, fits_the_screen, login
from tests.support.webapp import PASSWORDS, serve
from tests.web.conftest import Auth

pytestmark = pytest.mark.browser


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


@pytest.fixture
def any_db_url(settings: Settings) -> str:
    return settings.database_url  # one database here: the web tests run both


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    with chromium_page(request, viewport=VIEWPORTS[request.param], timeout_ms=15_000) as pg:
        yield pg


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_edit_a_rejected_announcement(
    live: str,
    page,
    client,
    auth: Auth,
    db: sessionmaker[Session],  # noqa: ANN001
) -> None:
    auth.login("bientap")
    ann_id = _id_from(auth.create().headers["Location"])
    client.post(f"/announcements/{ann_id}/submit")
    auth.logout()
    auth.login("pheduyet")
    client.post(f"/announcements/{ann_id}/reject", data={"reason": "Ghi rõ địa điểm tiêm"})

    login(page, live, "bientap", PASSWORDS["bientap"])
    page.goto(f"{live}/announcements/{ann_id}")
    expect(page.locator(".badge").first).to_have_text("Bị từ chối")
    page.get_by_role("link", name="Sửa", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Sửa: Tiêm phòng cho đàn gia súc")
    expect(page.get_by_text("Ghi rõ địa điểm tiêm")).to_be_visible()
    assert fits_the_screen(page)
    body = page.get_by_label("Nội dung cần đọc")
    body.fill("Sáng mai, các hộ chăn nuôi mang gia súc ra sân nhà văn hóa thôn 1 để tiêm phòng.")
    page.get_by_role("button", name="Lưu thay đổi").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Đã lưu.")).to_be_visible()
    expect(page.locator(".body-text")).to_contain_text("sân nhà văn hóa thôn 1")
    page.get_by_role("button", name="Gửi duyệt").click()
    page.wait_for_load_state()
    expect(page.locator(".badge").first).to_have_text("Chờ duyệt")
    assert fits_the_screen(page)


def test_cancel_one_airing_of_a_series(
    live: str,
    page,
    db: sessionmaker[Session],
    clock: Clock,  # noqa: ANN001
) -> None:
    ann_id = _approved_series(db, clock)
    login(page, live, "pheduyet", PASSWORDS["pheduyet"])
    page.goto(f"{live}/announcements/{ann_id}")
    expect(page.locator("#recurrence")).to_contain_text("Hằng ngày")
    airings = page.locator("ul.airings li")
    expect(airings).to_have_count(5)
    second = page.get_by_label("Lượt phát", exact=True).locator("option").nth(1)
    label = second.inner_text()
    page.get_by_label("Lượt phát", exact=True).select_option(index=1)
    page.get_by_label("Chỉ lượt phát này").check()
    page.get_by_label("Lý do hủy").fill("Trùng lịch họp thôn")
    assert fits_the_screen(page)
    page.get_by_role("button", name="Hủy lượt phát").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Đã hủy lượt phát.")).to_be_visible()
    expect(page.locator("ul.airings li.cancelled")).to_have_count(1)
    expect(page.locator("ul.airings li.cancelled")).to_contain_text(label)
    expect(page.locator("#history")).to_contain_text("Trùng lịch họp thôn")
    assert fits_the_screen(page)
    with db() as s:
        plans = materialize(s, clock.now(), timedelta(days=6), "http://server")
    mine = [i for i in plans["cum-loa-t1"] if i.announcement_id == ann_id]
    assert len(mine) == 4
