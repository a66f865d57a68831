"""Recordings in headless Chromium: upload a real Ba Na recording and hear it in the preview,
refuse a picture renamed .mp3 in Vietnamese, and record with the browser's (fake) microphone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.recordings.conftest import PASSWORDS, make_audio
from tests.recordings.test_versions import PNG
from tests.recordings.test_web_recordings import _draft
from tests.support import browser
from tests.support.browser import FAKE_MICROPHONE_ARGS, chromium_page
from tests.support.webapp import serve

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    app.config.update(WTF_CSRF_ENABLED=True)  # the real thing: forms and fetch carry tokens
    with serve(app) as url:
        yield url


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    with chromium_page(
        request,
        viewport={"width": 1200, "height": 1000},
        extra_args=FAKE_MICROPHONE_ARGS,
        screenshot="always",
    ) as pg:
        yield pg


def _login(page, base: str, username: str) -> None:  # noqa: ANN001
    browser.login(page, base, username, PASSWORDS[username])


def _audio_seconds(page, selector: str) -> float:  # noqa: ANN001
    """The duration the browser itself decodes from the preview's media."""
    return float(
        page.eval_on_selector(
            selector,
            """a => new Promise((ok, fail) => {
                 if (a.readyState >= 1) return ok(a.duration);
                 a.addEventListener('loadedmetadata', () => ok(a.duration));
                 a.addEventListener('error', () => fail(new Error('cannot load ' + a.src)));
                 a.load();
               })""",
        )
    )


def test_upload_a_bahnar_recording_and_preview_it(app, live_url, page, tmp_path) -> None:  # noqa: ANN001
    ann_id = _draft(app)
    voice = tmp_path / "kon-klo.m4a"
    make_audio(voice, "sine=frequency=220:duration=4", "-c:a", "aac")
    _login(page, live_url, "bientap")
    page.goto(f"{live_url}/announcements/{ann_id}")
    assert page.get_by_label("Ngôn ngữ của bản ghi").first.input_value() == "bahnar"
    page.get_by_label("Tệp âm thanh").set_input_files(str(voice))
    page.get_by_role("button", name="Tải bản ghi lên").click()
    page.wait_for_load_state()
    assert "Đã lưu bản ghi tiếng Ba Na" in page.inner_text(".flash.success")
    item = page.locator('li.version[data-language="bahnar"]')
    assert item.locator(".lang").inner_text() == "Ba Na"
    shown = item.locator(".duration").inner_text()  # m:ss, chimes included
    seconds = _audio_seconds(page, 'li.version[data-language="bahnar"] audio')
    assert 4.0 < seconds < 12.0
    assert shown == f"{int(seconds) // 60}:{int(seconds) % 60:02d}"

    # The approver hears the same preview before deciding.
    page.get_by_role("button", name="Đăng xuất").click()
    _login(page, live_url, "pheduyet")
    page.goto(f"{live_url}/announcements/{ann_id}")
    assert _audio_seconds(page, 'li.version[data-language="bahnar"] audio') == seconds
    assert page.get_by_role("button", name="Tải bản ghi lên").count() == 0


def test_a_picture_renamed_mp3_is_refused_in_vietnamese(app, live_url, page, tmp_path) -> None:  # noqa: ANN001
    ann_id = _draft(app)
    fake = tmp_path / "thong-bao.mp3"
    fake.write_bytes(PNG)
    _login(page, live_url, "bientap")
    page.goto(f"{live_url}/announcements/{ann_id}")
    page.get_by_label("Tệp âm thanh").set_input_files(str(fake))
    page.get_by_role("button", name="Tải bản ghi lên").click()
    page.wait_for_load_state()
    assert "Tệp này không phải là âm thanh" in page.inner_text(".flash.error")
    assert page.locator("li.version").count() == 0
    assert "Chưa có bản ghi nào." in page.inner_text("#recordings")


def test_record_with_the_microphone(app, live_url, page) -> None:  # noqa: ANN001
    ann_id = _draft(app)
    _login(page, live_url, "bientap")
    page.goto(f"{live_url}/announcements/{ann_id}")
    page.get_by_role("button", name="Bắt đầu ghi âm").click()
    page.wait_for_timeout(2500)
    page.get_by_role("button", name="Dừng và lưu").click()
    item = page.locator('li.version[data-language="bahnar"]')
    item.wait_for()
    assert "ghi âm trên trình duyệt" in item.inner_text()
    assert _audio_seconds(page, 'li.version[data-language="bahnar"] audio') > 2.0
