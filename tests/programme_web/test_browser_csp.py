"""Issue 10, in headless Chromium: the CSP blocks inline script and framing, the main pages of
every role load without a single CSP violation, and their scripts still work (the emergency
page's live status, the announcement form's quick-time buttons)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

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
from tests.support.browser import chromium_page, login
from tests.support.webapp import serve
from tests.web.conftest import PASSWORDS

from .conftest import AddFn

pytestmark = pytest.mark.browser

# Every violation, whatever its kind, is recorded on the page (the listener is installed before
# any of the page's own scripts run).
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""
# The admin sees every page; the other roles, the pages that differ for them.
PAGES_ALL = [
    "/announcements/",
    "/announcements/new",
    "/announcements/{ann}",
    "/schedule/",
    "/calendar/",
    "/calendar/zone/thon-1",
    "/campaigns/",
    "/campaigns/new",
    "/emergency/",
    "/emergency/{em}",
    "/logs/",
    "/logs/proof/{ann}",
    "/health/",
    "/health/map",
    "/reports/",
    "/lexicon/",
    "/api/docs",
    "/account/password",
]
PAGES_BY_ROLE = {
    "quantri": PAGES_ALL,
    "bientap": ["/announcements/new", "/announcements/{ann}", "/emergency/{em}"],
    "pheduyet": ["/announcements/?status=submitted", "/emergency/", "/announcements/{ann}"],
    "canbo": ["/logs/", "/logs/proof/{ann}", "/health/map", "/reports/", "/emergency/{em}"],
}


@pytest.fixture
def live(app: Flask) -> Iterator[tuple[str, MemoryPublisher]]:
    sent = MemoryPublisher()
    app.extensions["broadcaster"].command_publisher = CommandPublisher(
        Signer.generate(), sent, Topics("loa/v1")
    )
    with serve(app) as url:
        yield url, sent


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with chromium_page(request, viewport={"width": 1200, "height": 900}) as pg:
        pg.add_init_script(LISTEN)
        yield pg


def _console(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    return messages


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp || []"))


def _send_emergency(page: Any, base: str) -> None:
    login(page, base, "pheduyet", PASSWORDS["pheduyet"])
    page.goto(f"{base}/emergency/")
    page.get_by_label("Thôn 2", exact=True).check()
    page.get_by_label("Tiêu đề").fill("Cảnh báo lũ")
    page.get_by_label("Nội dung cần đọc").fill("Nước sông lên nhanh, bà con di chuyển lên cao.")
    page.get_by_label("Lý do").fill("Tin khẩn của huyện")
    page.get_by_role("button", name="Xem lại trước khi phát").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Phát ngay").click()
    page.wait_for_load_state()


def test_main_pages_of_every_role_have_no_csp_violation_and_their_scripts_work(
    live: tuple[str, MemoryPublisher],
    page: Any,
    db: sessionmaker[Session],
    add_approved: AddFn,
) -> None:
    base, sent = live
    console = _console(page)
    ann = add_approved(SYSTEM_CLOCK.now() + timedelta(hours=3), title="Họp dân")
    _send_emergency(page, base)
    assert [t for t, *_ in sent.sent] == ["loa/v1/zones/thon-2/cmd"]
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        em_id, item_id = em.id, occurrence_id(em)

    # the emergency page's script polls and updates the row under the CSP
    with transaction(db) as s:
        s.add(
            PlaybackEvent(
                id="e1",
                site_id="cum-loa-t2",
                outbox="o",
                seq=1,
                kind="started",
                at=SYSTEM_CLOCK.now(),
                item_id=item_id,
            )
        )
    # a locator assertion: wait_for_function evaluates a string, which the CSP forbids
    expect(page.locator('tr[data-site="cum-loa-t2"] .badge')).to_have_text(
        "Đang phát", timeout=8000
    )
    assert _violations(page) == []
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_load_state()

    visited = 0
    for user, paths in PAGES_BY_ROLE.items():
        login(page, base, user, PASSWORDS[user])
        for path in paths:
            url = base + path.format(ann=ann.id, em=em_id)
            response = page.goto(url)
            page.wait_for_load_state("load")
            assert response is not None and response.status < 500, (user, url)
            assert _violations(page) == [], (user, url, _violations(page))
            visited += 1
        if user == "bientap":  # the form's quick-time script works
            page.goto(f"{base}/announcements/new")
            before = page.get_by_label("Thời gian phát").input_value()
            page.get_by_role("button", name="+1 giờ").click()
            assert page.get_by_label("Thời gian phát").input_value() != before
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_load_state()
    assert visited == sum(map(len, PAGES_BY_ROLE.values()))
    assert not [m for m in console if "Content Security Policy" in m], console


def test_inline_script_is_blocked_and_pages_cannot_be_framed(
    live: tuple[str, MemoryPublisher], page: Any
) -> None:
    """What an injected payload would do: an inline script does not run, and is reported."""
    base, _ = live
    console = _console(page)
    page.goto(f"{base}/login")
    page.evaluate(
        "var s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        "document.body.appendChild(s);"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert _violations(page)[0].startswith("script-src")

    # another site frames the emergency page (clickjacking): the browser refuses
    page.set_content(f'<iframe id="f" src="{base}/emergency/"></iframe>')
    page.wait_for_timeout(500)
    framed = page.frames[1]
    assert framed.url != f"{base}/emergency/" or framed.content().count("Phát khẩn cấp") == 0
    assert any("frame-ancestors" in m for m in console), console
