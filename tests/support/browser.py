"""Headless Chromium for browser tests: the launch arguments, a page fixture body and the
login form as a person fills it in."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
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
