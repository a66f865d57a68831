"""The main menu on a phone and on a desktop, in headless Chromium, as the province
administrator: the longest menu (every admin page, the signing keys) with two announcements
waiting (one from each commune). On a phone the menu is one button carrying the waiting count,
and the page's own content starts on the first screen; the button opens the menu from the
keyboard, and a link in it leads to its page, marked current. On a desktop every link shows
without opening anything."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.scope.conftest import PASSWORDS, Province
from tests.support.browser import (
    MAIN_MENU,
    VIEWPORTS,
    axe_violations,
    chromium_page,
    fits_the_screen,
    login,
    nav_click,
    open_menu,
)
from tests.support.webapp import serve

pytestmark = pytest.mark.browser

ADMIN_MENU = [
    "Hôm nay",
    "Bản tin",
    "Cần duyệt",
    "Soạn bản tin",
    "Lịch phát",
    "Lịch tuần",
    "Chiến dịch",
    "Tin cấp trên",
    "Phát khẩn cấp",
    "Nhật ký phát",
    "Tình trạng cụm loa",
    "Báo cáo",
    "Từ điển phát âm",
    "Người dùng",
    "Khu vực và điểm phát",
    "Khung giờ và tiếp sóng",
    "Mã truy cập API",
    "Sáp nhập xã",
    "Khóa ký",
]


@pytest.fixture
def live(app: Flask, province: Province) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _names(nav: Any) -> list[str]:
    """The menu's visible links, their badges left off."""
    return [re.sub(r"\s+\d+$", "", t.strip()) for t in nav.get_by_role("link").all_inner_texts()]


def _top_of_main(page: Any) -> float:
    box = page.locator("main").bounding_box()
    assert box is not None
    return float(box["y"])


def _exposed(page: Any, selector: str) -> dict[str, Any]:
    """What Chromium tells a screen reader about the element (its accessibility tree, through
    the DevTools protocol): role, name, expanded, or ignored."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})
    finally:
        cdp.detach()
    first = ax["nodes"][0]  # the element's own node comes first
    props = {p["name"]: p["value"].get("value") for p in first.get("properties", [])}
    return {
        "ignored": first.get("ignored", False),
        "role": first.get("role", {}).get("value"),
        "name": first.get("name", {}).get("value"),
        "expanded": props.get("expanded"),
    }


def test_on_a_phone_the_menu_is_one_button(request: pytest.FixtureRequest, live: str) -> None:
    screen = VIEWPORTS["phone"]
    with chromium_page(request, viewport=screen) as page:
        login(page, live, "quantri", PASSWORDS["quantri"])
        nav = page.get_by_role("navigation", name=MAIN_MENU)
        button = nav.locator("details.menu > summary")
        expect(button).to_be_visible()
        expect(nav.get_by_role("link")).to_have_count(0)  # the links hidden, from readers too
        # the waiting count on the button, seen and heard
        expect(button.locator(".badge")).to_have_text("2")
        said = _exposed(page, "details.menu > summary")
        assert said["name"] == "Menu 2 mục chờ duyệt" and said["expanded"] is False, said
        # the page's own content first: the header takes at most a quarter of the screen
        assert _top_of_main(page) <= screen["height"] / 4, _top_of_main(page)
        heading = page.locator("main h1").bounding_box()
        assert heading is not None and heading["y"] + heading["height"] <= screen["height"]

        button.focus()
        page.keyboard.press("Enter")
        assert _exposed(page, "details.menu > summary")["expanded"] is True
        assert _names(nav) == ADMIN_MENU
        expect(nav.get_by_role("link", name="Hôm nay")).to_have_attribute("aria-current", "page")
        assert fits_the_screen(page)
        assert not axe_violations(page)

        nav.get_by_role("link", name="Nhật ký phát").click()
        page.wait_for_load_state()
        expect(page.locator("main h1")).to_have_text("Nhật ký phát")
        expect(nav.get_by_role("link")).to_have_count(0)  # closed again on the new page
        nav = open_menu(page)
        expect(nav.locator("[aria-current]")).to_have_count(1)
        expect(nav.get_by_role("link", name="Nhật ký phát")).to_have_attribute(
            "aria-current", "page"
        )


def test_on_a_desktop_the_links_show(request: pytest.FixtureRequest, live: str) -> None:
    with chromium_page(request, viewport=VIEWPORTS["desktop"]) as page:
        login(page, live, "quantri", PASSWORDS["quantri"])
        nav = page.get_by_role("navigation", name=MAIN_MENU)
        expect(nav.locator("details.menu > summary")).to_be_hidden()  # nothing to open
        assert _names(nav) == ADMIN_MENU
        for link in nav.get_by_role("link").all():
            expect(link).to_be_visible()
        said = _exposed(page, "#nav-waiting")  # a screen reader finds the links too
        assert not said["ignored"] and said["role"] == "link", said
        expect(nav.get_by_role("link", name="Cần duyệt")).to_contain_text("2")
        # "To approve" is the announcements filtered: it alone is current there
        nav_click(page, "Cần duyệt")
        expect(nav.locator("[aria-current]")).to_have_count(1)
        expect(nav.get_by_role("link", name="Cần duyệt")).to_have_attribute("aria-current", "page")
        assert fits_the_screen(page)
