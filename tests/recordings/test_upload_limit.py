"""Issue 10: one upload limit, stated the same on the page and enforced by the server.

The attack: the page promised 20 MB, but a 3.7 MB WAV got a raw English 500 (the app-wide body
limit was 2 MB, hit by the CSRF check before the recordings' own limit applied, and the error
page then read the body again). A 3 MB POST anywhere gave a 500 too. The tests post with CSRF
on, as a browser does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from audio.renderer import TextRenderer
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.models import AnnouncementVersion
from tests.recordings.conftest import PASSWORDS, make_audio
from tests.recordings.test_web_recordings import _count, _draft
from tests.support.webapp import flask_app

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PROMISE = re.compile(r"tối đa [\d.,]+ giây và ([\d.,]+) MB")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(recording_max_bytes=20 * 1024 * 1024, recording_max_seconds=600.0)


@pytest.fixture
def app(
    settings: Settings, db: sessionmaker[Session], fake_renderer: TextRenderer, clock: Clock
) -> Iterator[Flask]:
    """The app with CSRF protection on, as in production."""
    with flask_app(settings, db, fake_renderer, clock=clock) as app:
        app.config["WTF_CSRF_ENABLED"] = True
        yield app


def _token(client: FlaskClient, path: str) -> str:
    found = CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _post_multipart(
    client: FlaskClient, path: str, fields: dict[str, str], upload: FileStorage
) -> TestResponse:
    """Encoded here: the test client would spool a large body to a temporary file that it
    never closes (a ResourceWarning, an error under the suite's warning filter)."""
    boundary, body = encode_multipart(MultiDict({**fields, "file": upload}))
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _login(client: FlaskClient, username: str) -> None:
    data = {"username": username, "password": PASSWORDS[username]}
    r = client.post("/login", data={**data, "csrf_token": _token(client, "/login")})
    assert r.status_code == 302


def test_a_3_7_mb_wav_is_accepted_as_the_page_promises(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    ann_id = _draft(app)
    _login(client, "bientap")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    promised = PROMISE.search(page)
    assert promised and float(promised.group(1).replace(",", ".")) == 20
    # 42 s of 16-bit mono 44.1 kHz: 3.7 MB
    wav = make_audio(tmp_path / "loa.wav", "sine=frequency=300:duration=42", "-ar", "44100")
    assert 3_600_000 < len(wav) < 3_800_000
    r = _post_multipart(
        client,
        f"/announcements/{ann_id}/recordings",
        {"language": "vi", "csrf_token": _token(client, f"/announcements/{ann_id}")},
        FileStorage(io.BytesIO(wav), "loa.wav"),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert _count(app, AnnouncementVersion) == 1


def test_a_body_over_the_limit_gets_a_vietnamese_413_naming_the_limit(
    app: Flask, client: FlaskClient
) -> None:
    ann_id = _draft(app)
    _login(client, "bientap")
    token = _token(client, f"/announcements/{ann_id}")
    big = FileStorage(io.BytesIO(b"\0" * (21 * 1024 * 1024)), "big.wav")
    r = _post_multipart(
        client, f"/announcements/{ann_id}/recordings", {"language": "vi", "csrf_token": token}, big
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 413
    assert "Quá lớn" in html and "Tệp lớn nhất trang này nhận là 20 MB" in html
    assert _count(app, AnnouncementVersion) == 0


def test_a_3_mb_form_post_gets_413_not_500(app: Flask, client: FlaskClient) -> None:
    """A urlencoded form is read into memory: Werkzeug's form-memory limit refuses it."""
    _login(client, "bientap")
    r = client.post(
        "/announcements/new",
        data={"title": "x", "body": "a" * (3 * 1024 * 1024), "csrf_token": "x"},
    )
    assert r.status_code == 413 and "Quá lớn" in r.get_data(as_text=True), r.get_data(as_text=True)[
        -900:
    ]
