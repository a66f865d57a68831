from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.agent.fetch import MediaCache
from broadcaster.agent.players import PlayerError
from broadcaster.agent.runner import Runner, RunnerOptions
from broadcaster.agent.store import Store
from broadcaster.clock import FakeClock
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Media, Plan, PlanItem

from .conftest import FakePlayer

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)


def _media(cache: MediaCache, content: bytes = b"audio") -> Media:
    """Media already in the cache; its URL is unreachable, so only the cache can serve it."""
    sha = hashlib.sha256(content).hexdigest()
    media = Media(sha256=sha, url=f"http://127.0.0.1:9/media/{sha}.mp3", size=5, duration_ms=1)
    cache.path_for(media).write_bytes(content)
    return media


def _plan(version: int, items: list[tuple[str, float, Media]]) -> Plan:
    return Plan(
        site="s1",
        version=version,
        issued_at=T0,
        expires_at=T0 + timedelta(days=2),
        items=tuple(
            PlanItem(f"{i}", T0 + timedelta(seconds=s), "t", 1, "normal", m) for i, s, m in items
        ),
    )


class Rig:
    def __init__(self, tmp_path: Path, player: FakePlayer | None = None) -> None:
        self.clock = FakeClock(T0)
        self.store = Store(tmp_path / "agent.sqlite3", "s1")
        self.cache = MediaCache(tmp_path / "media", 0.5, self.store)
        self.player = player or FakePlayer()
        self.events: list[Event] = []
        self.runner = self.make_runner()

    def make_runner(self) -> Runner:
        return Runner(
            self.store,
            self.cache,
            self.player,
            RunnerOptions(clock=self.clock, late_grace_s=30, on_event=self.events.append),
        )

    def kinds(self) -> list[tuple[str | None, str]]:
        return [(e.item_id, e.kind) for e in self.events]


def test_plays_on_time_not_before(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    media = _media(rig.cache)
    rig.runner.set_plan(_plan(1, [("a", 10, media), ("b", 20, media)]))
    assert rig.runner.run_due() == 10.0
    assert rig.player.played == []
    rig.clock.advance(timedelta(seconds=10))
    assert rig.runner.run_due() == 10.0
    assert rig.player.played == [(rig.cache.path_for(media), "a")]
    assert rig.kinds() == [("a", "started"), ("a", "finished")]
    assert rig.events[0].detail.startswith("late by 0 ms")
    assert rig.events[0].scheduled_at == T0 + timedelta(seconds=10)
    rig.clock.advance(timedelta(seconds=12))
    assert rig.runner.run_due() is None
    assert [label for _, label in rig.player.played] == ["a", "b"]
    assert "late by 2000 ms" in rig.events[2].detail
    rig.store.close()


def test_skips_items_later_than_the_grace(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    media = _media(rig.cache)
    rig.clock.advance(timedelta(seconds=100))
    rig.runner.set_plan(_plan(1, [("old", 0, media), ("recent", 80, media)]))
    assert rig.runner.run_due() is None
    assert rig.kinds() == [("old", "skipped"), ("recent", "started"), ("recent", "finished")]
    assert rig.events[0].detail == "late by 100 s"
    assert [label for _, label in rig.player.played] == ["recent"]
    rig.store.close()


def test_never_replays_a_handled_occurrence(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    media = _media(rig.cache)
    rig.runner.set_plan(_plan(1, [("a", 0, media)]))
    rig.runner.run_due()
    assert len(rig.player.played) == 1
    # a newer plan with the same occurrence, and a fresh runner after a "restart"
    rig.runner.set_plan(_plan(2, [("a", 0, media), ("b", 5, media)]))
    rig.runner.run_due()
    restarted = rig.make_runner()
    restarted.set_plan(_plan(2, [("a", 0, media), ("b", 5, media)]))
    rig.clock.advance(timedelta(seconds=5))
    restarted.run_due()
    assert [label for _, label in rig.player.played] == ["a", "b"]
    rig.store.close()


def test_media_that_cannot_be_fetched_fails_the_item(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    missing = Media("ef" * 32, "http://127.0.0.1:9/media/x.mp3", 1, 1)
    rig.runner.set_plan(_plan(1, [("a", 0, missing)]))
    rig.runner.run_due()
    assert rig.kinds() == [("a", "failed")]
    assert "media unavailable" in rig.events[0].detail
    assert rig.player.played == []
    rig.store.close()


def test_player_failure_is_reported(tmp_path: Path) -> None:
    class Broken(FakePlayer):
        def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
            raise PlayerError("no sound card")

    rig = Rig(tmp_path, Broken())
    rig.runner.set_plan(_plan(1, [("a", 0, _media(rig.cache))]))
    rig.runner.run_due()
    assert rig.kinds() == [("a", "started"), ("a", "failed")]
    assert rig.events[1].detail == "no sound card"
    rig.store.close()


def test_thread_wakes_for_a_new_plan(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    media = _media(rig.cache)
    rig.runner.start()
    try:
        rig.runner.set_plan(_plan(1, [("a", 0, media)]))
        deadline = threading.Event()
        for _ in range(100):
            if len(rig.events) == 2:
                break
            deadline.wait(0.02)
        assert rig.kinds() == [("a", "started"), ("a", "finished")]
    finally:
        rig.runner.stop.set()
        rig.runner.join()
        rig.store.close()
