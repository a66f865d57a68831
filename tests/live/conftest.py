"""Live tests: a private Icecast, a tone sent into it as a browser would, and real agents."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcaster.live.feed import LiveFeed
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.wire.live import LiveStream
from tests.support.tone import RealTimeSender, make_webm

TONE_HZ = 880


@pytest.fixture
def icecast() -> Iterator[PrivateIcecast]:
    """Debian's icecast2 on a free port with a generated config."""
    if PrivateIcecast.binary() is None:
        pytest.fail("icecast2 is not installed: run scripts/bootstrap.sh")
    server = PrivateIcecast(source_timeout_s=3)
    server.start()
    try:
        yield server
    finally:
        print(
            f"icecast2 (running: {server.process is not None and server.process.poll() is None}):"
        )
        print(server.log())
        server.stop()


@pytest.fixture(scope="session")
def tone_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve seconds of 880 Hz as WebM/Opus."""
    path = tmp_path_factory.mktemp("live-tone") / "tone.webm"
    return make_webm(path, f"sine=frequency={TONE_HZ}:duration=12")


@dataclass
class Session:
    """One live session on the private Icecast: its stream (as a command names it) and feed."""

    icecast: PrivateIcecast
    live: LiveStream
    feed: LiveFeed
    mount: str

    def send(self, data: bytes, seconds: float) -> RealTimeSender:
        sender = RealTimeSender(data, seconds, self.feed.write)
        sender.start()
        return sender


def open_session(
    icecast: PrivateIcecast, workdir: Path, *, priority: str = "priority", stall_s: int = 3
) -> Session:
    session = f"live-{secrets.token_hex(6)}"
    token = secrets.token_urlsafe(16)
    mount = f"/live/{secrets.token_urlsafe(16)}.ogg"
    assert icecast.listeners is not None
    icecast.listeners.allow(session, token)
    live = LiveStream(
        session=session,
        url=f"{icecast.url}{mount}",
        token=token,
        item_id=session,
        announcement_id=0,
        title="Phát trực tiếp",
        priority=priority,
        start=datetime.now(UTC),
        stall_s=stall_s,
        max_s=600,
    )
    feed = LiveFeed(icecast.source_url(mount), workdir / f"{session}.ogg")
    feed.start()
    return Session(icecast, live, feed, mount)
