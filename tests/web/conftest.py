"""Web fixtures: an app on the per-test database with the demo commune, a client, a login helper.

Unit tests use a fake renderer that stores one real, small MP3 (made once with ffmpeg), so they
run fast; the browser test uses the real renderer.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from audio.render import Rendered
from audio.renderer import Renderer
from audio.store import MediaStore
from audio.tts.base import TTSError
from broadcaster.clock import Clock
from broadcaster.config import Settings
from tests.support.webapp import PASSWORDS, client, clock_start, flask_app

__all__ = ["PASSWORDS", "FakeRenderer", "client", "clock_start"]


@pytest.fixture(scope="session")
def sample_mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of 440 Hz as a real MP3."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is not installed: run scripts/bootstrap.sh")
    out = tmp_path_factory.mktemp("mp3") / "tone.mp3"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-ac",
            "1",
            "-b:a",
            "64k",
            str(out),
        ],
        check=True,
    )
    return out.read_bytes()


@dataclass
class FakeRenderer(Renderer):
    """Stores the sample MP3 in the media store, records the texts, fails when told to."""

    store: MediaStore
    data: bytes
    texts: list[str] = field(default_factory=list)
    fail: bool = False

    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered:
        self.texts.append(text)
        if self.fail:
            raise TTSError("fake", "told to fail")
        sha = self.store.put(self.data, "mp3")
        return Rendered(sha256=sha, ext="mp3", size=len(self.data), duration_ms=1000, engine="fake")


@pytest.fixture
def renderer(settings: Settings, sample_mp3: bytes) -> FakeRenderer:
    return FakeRenderer(MediaStore(settings.media_dir), sample_mp3)


@pytest.fixture
def app(
    settings: Settings, db: sessionmaker[Session], renderer: FakeRenderer, clock: Clock
) -> Iterator[Flask]:
    with flask_app(settings, db, renderer, clock=clock) as app:
        yield app


class Auth:
    """Log in and out, and write announcements, through the UI's own forms."""

    def __init__(self, client: FlaskClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    def local_input(self, delta: timedelta) -> str:
        """A datetime-local value (Asia/Ho_Chi_Minh wall clock) ``delta`` from the app's now."""
        now = self.clock.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        return (now.replace(second=0, microsecond=0) + delta).strftime("%Y-%m-%dT%H:%M")

    def login(self, username: str, password: str | None = None) -> TestResponse:
        return self.client.post(
            "/login",
            data={"username": username, "password": password or PASSWORDS[username]},
        )

    def logout(self) -> TestResponse:
        return self.client.post("/logout")

    def create(self, **overrides: object) -> TestResponse:
        data: dict[str, object] = {
            "title": "Tiêm phòng cho đàn gia súc",
            "body": "Sáng mai, các hộ chăn nuôi mang gia súc ra nhà văn hóa thôn để tiêm phòng.",
            "zones": ["thon-1"],
            "priority": "normal",
            "start_at": self.local_input(timedelta(minutes=30)),
        }
        data.update(overrides)
        return self.client.post("/announcements/new", data=data)


@pytest.fixture
def auth(client: FlaskClient, clock: Clock) -> Auth:  # noqa: F811 - the fixture
    return Auth(client, clock)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    """Keep each phase's report on the item, so fixtures can tell a failed test (screenshots)."""
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep
