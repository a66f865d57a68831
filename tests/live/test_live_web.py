"""The live pages and socket without a browser: only approvers, only the session's own speaker
feeds it, and a session fed over the WebSocket goes out as a signed command, ends when the
socket closes, and leaves its recording as the announcement's audio."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import simple_websocket
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.models import LiveSession
from tests.support.agents import wait_for
from tests.support.live_client import LiveClient
from tests.support.live_site import LiveSite, live_site
from tests.support.tone import RealTimeSender

pytestmark = pytest.mark.slow


@pytest.fixture
def site(
    settings: Settings,
    db: sessionmaker[Session],
    broker: PrivateBroker,
    icecast: PrivateIcecast,
    tmp_path: Path,
) -> Iterator[LiveSite]:
    with live_site(settings, db, broker, icecast, tmp_path, agents=1) as served:
        yield served


def test_an_editor_cannot_go_live_nor_feed_a_session(site: LiveSite) -> None:
    editor = LiveClient(site.base, "bientap", "bientap123")
    assert editor.http.get(f"{site.base}/live/").status_code == 403
    approver = LiveClient(site.base, "pheduyet", "pheduyet123")
    started = approver.start(["thon-1"])
    # another approver, of another commune, and an editor: closed before any audio is taken
    for user, password in (("pheduyet-dm", "pheduyet123"), ("bientap", "bientap123")):
        ws = LiveClient(site.base, user, password).socket(started["audio_url"])
        with pytest.raises(simple_websocket.ConnectionClosed) as closed:
            ws.receive(timeout=5)
        assert closed.value.reason == 1008
    with site.db() as s:
        live = s.get(LiveSession, started["id"])
        assert live is not None and live.command_id == "" and live.ended_at is None


def test_a_session_fed_over_the_socket_is_sent_ended_and_archived(
    site: LiveSite, tone_webm: Path
) -> None:
    approver = LiveClient(site.base, "pheduyet", "pheduyet123")
    started = approver.start(["thon-1"], priority="emergency")
    ws = approver.socket(started["audio_url"])
    sender = RealTimeSender(tone_webm.read_bytes(), 12.0, ws.send)
    sender.start()

    def sent() -> bool:
        with site.db() as s:
            return bool(s.get(LiveSession, started["id"]).command_id)  # type: ignore[union-attr]

    wait_for(sent, 40, "the live command sent")
    wait_for(
        lambda: approver.http.get(f"{site.base}{started['status_url']}").json()["live_sites"],
        40,
        "the agent playing",
    )
    time.sleep(3)
    sender.stop.set()
    sender.join(5)
    ws.close()

    def archived() -> LiveSession | None:
        with site.db() as s:
            live = s.scalars(select(LiveSession)).one()
            return live if live.announcement.media_sha256 else None

    live = wait_for(archived, 40, "the recording archived")
    assert live.end_reason == "the announcer's connection closed"
    assert live.priority == "emergency"
    status = approver.http.get(f"{site.base}{started['status_url']}").json()
    assert status["ended"] and status["live_sites"] == []
    # officers find it like any airing: the log, the proof (with the speaker), the recording
    officer = LiveClient(site.base, "canbo", "canbo1234")
    title = "Phát trực tiếp: Trần Văn Hùng (phê duyệt)"
    wait_for(
        lambda: title in officer.http.get(f"{site.base}/logs/").text, 20, "the airing in the log"
    )
    proof = officer.http.get(f"{site.base}/logs/proof/{live.announcement_id}").text
    assert title in proof and "cum-loa-t1" in proof or "Cụm loa thôn 1" in proof
    detail = officer.http.get(f"{site.base}/announcements/{live.announcement_id}").text
    assert live.announcement.media_sha256 in detail and "<audio" in detail
