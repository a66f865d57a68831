""" "Nghe thử" in headless Chromium on a desktop (1366×768) and a phone (390×844) (issue 13):
the draft, not saved, is rendered by the real (espeak-ng) renderer; the page is busy while it
renders, then plays real audio and shows the number in words."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.models import Announcement
from schedules.programme_import import import_demo
from tests.support.browser import VIEWPORTS, chromium_page, fits_the_screen, login
from tests.support.webapp import PASSWORDS, serve
from web import create_app

pytestmark = pytest.mark.browser

RENDER_WAIT_MS = 120_000  # espeak-ng and mastering on a machine shared with other tests
DRAFT = "Sáng mai, các hộ mang 25 con bò ra nhà văn hóa thôn để tiêm phòng."


@pytest.fixture
def live_url(settings: Settings, db: sessionmaker[Session]) -> Iterator[str]:
    """The app with the real renderer and CSRF on, served on a free port in a thread."""
    with transaction(db) as session:
        import_demo(session)
    app = create_app(settings, sessions=db)  # real renderer: tts_engine="espeak"
    try:
        with serve(app) as url:
            yield url
    finally:
        app.extensions["broadcaster"].close()


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with chromium_page(request, viewport=VIEWPORTS[request.param], timeout_ms=30_000) as pg:
        yield pg


def _duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration,format_name"]
        + ["-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    fmt = json.loads(out.stdout)["format"]
    assert fmt["format_name"] == "mp3"
    return float(fmt["duration"])


def test_listen_to_a_draft_with_a_number(
    live_url: str, page: Any, db: sessionmaker[Session], tmp_path: Path
) -> None:
    login(page, live_url, "bientap", PASSWORDS["bientap"])
    page.goto(f"{live_url}/announcements/new")
    page.get_by_label("Tiêu đề").fill("Tiêm phòng cho đàn bò")
    page.get_by_label("Nội dung cần đọc").fill(DRAFT)
    page.get_by_label("Thôn 1").check()

    held: list[Route] = []
    page.route("**/listen", lambda route: held.append(route))
    button = page.get_by_role("button", name="Nghe thử")
    button.click()
    # Busy while the server renders: the button is disabled and the status says why.
    expect(button).to_be_disabled()
    box = page.locator(".listen")
    expect(box).to_have_attribute("aria-busy", "true")
    expect(page.locator(".listen-status")).to_contain_text("Đang tạo âm thanh")
    for _ in range(400):  # the route's callback runs when Playwright next pumps its events
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the draft was posted"
    held[0].continue_()
    page.unroute("**/listen")

    audio = page.locator("audio.listen-audio")
    # Rendering takes seconds (longer on a loaded machine): wait for the answer, not a time.
    expect(audio).to_have_attribute(
        "src", re.compile(r"^/media/[0-9a-f]{64}\.mp3$"), timeout=RENDER_WAIT_MS
    )
    expect(box).to_have_attribute("aria-busy", "false")
    expect(button).to_be_enabled()
    expect(page.locator(".listen-spoken")).to_contain_text("hai mươi lăm con bò")
    expect(page.locator(".listen-status")).to_contain_text("Đã xong")
    # The browser can play it: it loaded the audio's metadata and knows its length.
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.listen-audio');"
        " return a.readyState >= 1 && a.duration > 0; }"
    )
    src = audio.get_attribute("src")
    fetched = page.request.get(live_url + src)
    assert fetched.ok and fetched.headers["content-type"] == "audio/mpeg"
    mp3 = tmp_path / "draft.mp3"
    mp3.write_bytes(fetched.body())
    assert _duration_s(mp3) > 1.0  # a chime and a sentence said twice
    assert fits_the_screen(page)
    with db() as s:  # listening saved nothing
        assert s.scalar(select(func.count()).select_from(Announcement)) == 0

    # Text with nothing to read: said in Vietnamese, and the form is still there to fix it.
    page.get_by_label("Nội dung cần đọc").fill("… !!! ---")
    button.click()
    expect(page.locator(".listen-status")).to_contain_text(
        "Nội dung không có gì để đọc", timeout=RENDER_WAIT_MS
    )
    expect(button).to_be_enabled()
    assert fits_the_screen(page)
