"""The log, the report and proof in headless Chromium at a desktop (1366×768) and a phone
(390×844) (issue 13): the rows come first and the filters open from one button, every cell
shows its label on a phone, nothing is wider than the screen, the log updates in place with the
filters left open, and axe-core finds no serious or critical violation with the filters open."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support import browser
from tests.support.browser import VIEWPORTS, axe_violations, chromium_page, fits_the_screen
from tests.support.webapp import serve

pytestmark = pytest.mark.browser

PERIOD = "start=2026-11-22&end=2026-11-23"
LABEL_OF_CELLS = """(sel) => Array.from(document.querySelectorAll(sel)).map(
  (td) => getComputedStyle(td, "::before").content)"""


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_log_and_report_read_well(
    request: pytest.FixtureRequest, live_url: str, viewport: str, db, seeded_sqlite, clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from officers_seed import add_playback

    import web.logs.routes

    monkeypatch.setattr(web.logs.routes, "REFRESH_SECONDS", 1)
    phone = viewport == "phone"
    with chromium_page(request, viewport=VIEWPORTS[viewport], screenshot="always") as page:
        browser.login(page, live_url, "canbo", "canbo1234")
        page.goto(f"{live_url}/logs/")
        # the rows first: the filters are one button, the first row on the first screen
        assert not page.locator("#status").is_visible()
        first = page.locator("tbody tr").first.bounding_box()
        assert first is not None and first["y"] < VIEWPORTS[viewport]["height"]
        assert fits_the_screen(page)
        labels = page.evaluate(LABEL_OF_CELLS, "tbody td")
        if phone:  # every cell says what it is
            assert labels and all(c not in ("none", "normal", '""') for c in labels), labels
            assert '"Trạng thái"' in labels
        page.click("summary:has-text('Bộ lọc')")
        assert page.locator("#status").is_visible()
        assert not axe_violations(page), axe_violations(page)
        # live: a new airing shows without a reload, and the open filters stay open
        before = page.locator("tbody tr").count()
        page.evaluate("window.sameDocument = true")
        with db() as s, s.begin():
            add_playback(s, "cum-loa-t2", seeded_sqlite.vaccine, clock.now(), "finished")
        deadline = time.monotonic() + 15  # wait_for_function evals a string: the CSP refuses
        while page.locator("tbody tr").count() <= before and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert page.locator("tbody tr").count() > before
        assert page.evaluate("window.sameDocument") is True
        assert page.locator("#status").is_visible()
        # newest aired first: the new airing (now) heads the list
        assert "23/11/2026 12:00" in page.locator("tbody tr").first.inner_text()

        page.goto(f"{live_url}/reports/?{PERIOD}")
        assert not page.locator("#campaign").is_visible() and fits_the_screen(page)
        labels = page.evaluate(LABEL_OF_CELLS, "#by-zone tbody td, #frequency td, #coverage td")
        if phone:
            assert labels and all(c not in ("none", "normal", '""') for c in labels), labels
            assert '"Phát trọn"' in labels or '"Số lần phát"' in labels or len(set(labels)) > 4
        page.click("summary:has-text('Bộ lọc')")
        assert page.locator("#campaign").is_visible()
        assert not axe_violations(page), axe_violations(page)

        page.locator("#coverage a").first.click()
        assert "/logs/proof/" in page.url and fits_the_screen(page)
        assert not axe_violations(page), axe_violations(page)
