"""Headless Chromium for browser tests: the launch arguments, a page fixture body and the
login form as a person fills it in."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# axe-core from npm (scripts/bootstrap.sh installs it under .venv/npm).
AXE = Path(__file__).resolve().parents[2] / ".venv/npm/node_modules/axe-core/axe.min.js"
# The two screens: an office desktop and a phone.
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# A synthetic microphone (a beep) that needs no permission prompt, for MediaRecorder.
FAKE_MICROPHONE_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@contextmanager
def chromium_page(
    request: pytest.FixtureRequest,
    *,
    viewport: dict[str, int],
    timeout_ms: int | None = 20_000,
    extra_args: Sequence[str] = (),
    screenshot: str = "on-failure",
) -> Iterator[Any]:
    """A Playwright page in headless Chromium; skips the test when Chromium is not installed.

    ``screenshot`` is "on-failure" (also when the outcome is unknown), "always" or "never";
    shots go to /tmp/broadcaster-<test name>.png.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed; the browser test needs Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        pg = context.new_page()
        if timeout_ms is not None:
            pg.set_default_timeout(timeout_ms)
        try:
            yield pg
        finally:
            rep = getattr(request.node, "rep_call", None)
            failed = rep is None or rep.failed
            if screenshot == "always" or (screenshot == "on-failure" and failed):
                shot = Path("/tmp") / f"broadcaster-{request.node.name}.png"
                pg.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
            context.close()
            browser.close()


def login(page: Any, base: str, username: str, password: str) -> None:
    """Log in through the login page's labelled fields."""
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def fits_the_screen(page: Any) -> bool:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


MAIN_MENU = "Menu chính"  # the navigation's accessible name (Vietnamese, the default)


def open_menu(page: Any) -> Any:
    """The main menu (a locator), opened first where it is one button (a phone): a closed
    menu's links are hidden there, so a test clicks its button as a person would."""
    nav = page.get_by_role("navigation", name=MAIN_MENU)
    button = nav.locator("details.menu > summary")
    if button.is_visible() and not nav.locator("details.menu").evaluate("menu => menu.open"):
        button.click()
    return nav


def nav_click(page: Any, name: str, *, exact: bool = False) -> None:
    """Follow the main menu's link ``name`` (opening the menu on a phone) and wait for the page."""
    open_menu(page).get_by_role("link", name=name, exact=exact).click()
    page.wait_for_load_state()


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (evaluated through
    the DevTools protocol, which the CSP does not govern)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run scripts/bootstrap.sh (it installs axe-core from npm)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
