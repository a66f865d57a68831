"""An officer in headless Chromium: filter the log, follow the permalink, open the proof, the
health page and the map (which has no tiles to load)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.browser import chromium_page
from tests.support.webapp import serve

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    app.config["WTF_CSRF_ENABLED"] = True
    with serve(app) as url:
        yield url


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    viewport = {"width": 1200, "height": 900}
    with chromium_page(request, viewport=viewport, timeout_ms=None, screenshot="never") as pg:
        yield pg


def test_officer_filters_the_log_and_opens_proof_health_and_map(live_url, page) -> None:
    page.goto(f"{live_url}/login")
    page.fill("#username", "canbo")
    page.fill("#password", "canbo1234")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{live_url}/logs/")
    page.click("summary:has-text('Bộ lọc')")  # the filters sit behind one button
    page.select_option("#status", "finished")
    page.select_option("#site", "dai-xa")
    page.get_by_role("button", name="Lọc", exact=True).click()
    assert "status=finished" in page.url and "site=dai-xa" in page.url
    assert page.inner_text("#permalink") == page.url
    assert page.locator("tbody tr").count() == 3
    page.locator("a:has-text('xác nhận')").first.click()
    assert "/logs/proof/" in page.url
    assert page.inner_text("#coverage").endswith("%")
    page.goto(f"{live_url}/health/map")
    assert page.locator("#site-list tbody tr").count() == 5  # the province: both communes
    page.goto(f"{live_url}/health/")
    assert page.locator("text=Tình trạng cụm loa").count() >= 1


def test_the_log_shows_new_airings_without_reloading(
    live_url, page, db, seeded_sqlite, clock, monkeypatch
) -> None:
    from officers_seed import add_playback

    import web.logs.routes

    monkeypatch.setattr(web.logs.routes, "REFRESH_SECONDS", 1)
    page.goto(f"{live_url}/login")
    page.fill("#username", "canbo")
    page.fill("#password", "canbo1234")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{live_url}/logs/")
    before = page.locator("tbody tr").count()
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    with db() as s, s.begin():
        add_playback(s, "cum-loa-t2", seeded_sqlite.vaccine, clock.now(), "finished")
    deadline = time.monotonic() + 15  # page.wait_for_function evals a string: the CSP refuses
    while page.locator("tbody tr").count() <= before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.locator("tbody tr").count() > before
    assert page.evaluate("window.sameDocument") is True
