"""An officer in headless Chromium: filter the log, follow the permalink, open the proof, the
health page and the map (which has no tiles to load)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    from werkzeug.serving import make_server

    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        yield pg
        browser.close()


def test_officer_filters_the_log_and_opens_proof_health_and_map(live_url, page) -> None:
    page.goto(f"{live_url}/login")
    page.fill("#username", "canbo")
    page.fill("#password", "canbo1234")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{live_url}/logs/")
    page.select_option("#status", "finished")
    page.select_option("#site", "dai-xa")
    page.click("text=Lọc")
    assert "status=finished" in page.url and "site=dai-xa" in page.url
    assert page.inner_text("#permalink") == page.url
    assert page.locator("tbody tr").count() == 3
    page.locator("a:has-text('xác nhận')").first.click()
    assert "/logs/proof/" in page.url
    assert page.inner_text("#coverage").endswith("%")
    page.goto(f"{live_url}/health/map")
    assert page.locator("#site-list tbody tr").count() == 3
    page.goto(f"{live_url}/health/")
    assert page.locator("text=Tình trạng cụm loa").count() >= 1
