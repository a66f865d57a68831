"""The runner plays a live session like a play-now item: the amplifier relay (a mocked GPIO pin)
is on while it plays, an emergency session interrupts the plan's item, the player is given the
command's URL with the session's login and nothing else, and a lost stream is logged why."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.fetch import MediaCache
from broadcaster.agent.hardware import GpioRelay
from broadcaster.agent.players import INTERRUPTED, StreamError
from broadcaster.agent.runner import Runner, RunnerOptions, Urgent
from broadcaster.agent.store import Store
from broadcaster.wire.live import LiveStream
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Media, Plan, PlanItem
from tests.support.agents import wait_for

SITE = "cum-loa-t1"


class LivePlayer:
    """Plays files until stopped; plays a live URL until stopped, or loses it when told."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.lose = threading.Event()
        self.playing = threading.Event()

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        self.playing.set()
        stop.wait(10)
        self.playing.clear()
        return INTERRUPTED

    def play_live(
        self, url: str, stop: threading.Event, *, stall_s: float, max_s: float, label: str = ""
    ) -> str:
        self.urls.append(url)
        while not stop.wait(0.02):
            if self.lose.is_set():
                raise StreamError("live stream ended after 0.5 s (ffmpeg exited with 1)", 0.5)
        return INTERRUPTED


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "agent.sqlite3", SITE) as s:
        yield s


def _live(priority: str) -> LiveStream:
    return LiveStream(
        session="live-abc",
        url="http://127.0.0.1:8000/live/xyz.ogg",
        token="t0k/en",  # noqa: S106 - a test value
        item_id="s9-1795400000",
        announcement_id=9,
        title="Phát trực tiếp: Trần Văn Hùng",
        priority=priority,
        start=datetime.now(UTC),
        stall_s=3,
        max_s=600,
    )


def _urgent(live: LiveStream) -> Urgent:
    now = datetime.now(UTC)
    item = PlanItem(live.item_id, live.start, live.title, 9, live.priority, _NO_FILE)
    return Urgent(item, "cmd-1", now, now + timedelta(minutes=2), live=live)


_NO_FILE = Media("0" * 64, "http://localhost/", 0, 0)


def test_an_emergency_session_cuts_the_plan_item_with_the_relay_on_then_a_lost_stream(
    tmp_path: Path, store: Store
) -> None:
    from gpiozero.pins.mock import MockFactory

    relay = GpioRelay(17, pre_roll_s=0.0, post_roll_s=0.0, pin_factory=MockFactory())
    cache = MediaCache(tmp_path / "media", 1.0, store)
    media = Media(hashlib.sha256(b"x").hexdigest(), "http://127.0.0.1:9/x.mp3", 1, 1)
    cache.path_for(media).write_bytes(b"x")
    events: list[Event] = []
    player = LivePlayer()
    runner = Runner(store, cache, player, RunnerOptions(on_event=events.append, relay=relay))
    now = datetime.now(UTC)
    plan_item = PlanItem("occ-1", now, "Thông báo", 1, "normal", media)
    runner.set_plan(Plan(SITE, 1, now, now + timedelta(hours=1), (plan_item,)))
    runner.start()
    try:
        wait_for(player.playing.is_set, 5, "the plan item playing")
        live = _live("emergency")
        runner.submit(_urgent(live))
        wait_for(lambda: player.urls, 5, "the live stream opened")
        assert player.urls == ["http://live-abc:t0k%2Fen@127.0.0.1:8000/live/xyz.ogg"]
        assert relay.device.value == 1  # the amplifier is on while the session plays
        player.lose.set()
        wait_for(
            lambda: any(e.kind == "interrupted" and e.item_id == live.item_id for e in events), 5
        )
    finally:
        runner.stop.set()
        runner.join()
        relay.close()
    kinds = [(e.item_id, e.kind) for e in events]
    assert kinds[:4] == [
        ("occ-1", "started"),
        ("occ-1", "interrupted"),
        (live.item_id, "started"),
        (live.item_id, "interrupted"),
    ]
    cut, lost = events[1], events[3]
    assert cut.detail == f"interrupted by emergency {live.item_id}"
    assert lost.detail == "live stream lost: live stream ended after 0.5 s (ffmpeg exited with 1)"
    assert events[2].detail.startswith("late by ") and "live session live-abc; " in events[2].detail
