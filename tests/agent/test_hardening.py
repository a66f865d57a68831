"""Agent hardening: LRU cache, corrupt media, prefetch horizon and backoff, start accuracy,
amplifier relay (gpiozero MockFactory), volume via amixer, aplay/mpv players, stream relay with
fallback, heartbeat health."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.agent import Agent
from broadcaster.agent.config import AgentConfig
from broadcaster.agent.fetch import MediaCache, Prefetcher
from broadcaster.agent.hardware import AlsaMixer, GpioRelay
from broadcaster.agent.players import (
    FINISHED,
    INTERRUPTED,
    AplayPlayer,
    FilePlayer,
    MpvPlayer,
    StreamError,
)
from broadcaster.agent.runner import Runner, RunnerOptions
from broadcaster.agent.store import Store
from broadcaster.broker import PrivateBroker
from broadcaster.clock import FakeClock
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Media, Plan, PlanItem, Stream
from broadcaster.wire.signing import Signer

from .conftest import (
    SITE,
    BlockingPlayer,
    FakePlayer,
    MediaServer,
    Radio,
    ServerClient,
    wait_for,
)

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)  # for runners on a FakeClock


def _item(
    item_id: str, media: Media, in_s: float, *, at: datetime | None = None, **extra: object
) -> PlanItem:
    """An item ``in_s`` seconds after ``at`` (default: now, for runners on the real clock)."""
    start = (at or datetime.now(UTC)) + timedelta(seconds=in_s)
    return PlanItem(item_id, start, "Thông báo", 1, "normal", media, **extra)  # type: ignore[arg-type]


def _plan(*items: PlanItem) -> Plan:
    now = datetime.now(UTC)
    return Plan(SITE, 1, now, now + timedelta(hours=1), tuple(items))


def _bytes_media(server: MediaServer, tmp_path: Path, name: str, content: bytes) -> Media:
    src = tmp_path / name
    src.write_bytes(content)
    return server.add(src)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "agent.sqlite3", SITE) as s:
        yield s


# -- cache --------------------------------------------------------------------------------------


def test_lru_cache_is_bounded_in_bytes_and_keeps_what_the_plan_needs(
    tmp_path: Path, media_server: MediaServer, store: Store
) -> None:
    a, b, c = (_bytes_media(media_server, tmp_path, f"{n}.mp3", n.encode() * 1000) for n in "abc")
    pinned: set[str] = set()
    cache = MediaCache(tmp_path / "media", 5.0, store, max_bytes=2500, pinned=lambda: pinned)
    cache.fetch(a)
    time.sleep(0.01)
    cache.fetch(b)
    time.sleep(0.01)
    cache.fetch(a)  # a cache hit: a is now more recently used than b
    time.sleep(0.01)
    cache.fetch(c)  # 3000 bytes > 2500: the least recently used (b) goes
    assert cache.cached(b) is None and cache.cached(a) and cache.cached(c)
    assert cache.total_bytes() == 2000
    pinned.update({a.sha256, c.sha256})  # the plan needs a and c
    time.sleep(0.01)
    cache.fetch(b)  # over budget again, but a and c are pinned: kept over the budget
    assert all(cache.cached(m) for m in (a, b, c))
    pinned.clear()  # a new plan (the prefetcher evicts after each pass)
    time.sleep(0.01)
    cache.fetch(c)  # a hit: c is the most recent, then b, then a
    assert cache.evict() == [a.sha256] and cache.total_bytes() == 2000


def test_corrupt_or_truncated_media_is_fetched_again_and_never_played(
    tmp_path: Path, media_server: MediaServer, store: Store
) -> None:
    content = b"ID3 good audio " * 500
    media = _bytes_media(media_server, tmp_path, "good.mp3", content)
    cache = MediaCache(tmp_path / "media", 5.0, store)
    played: list[str] = []

    class HashingPlayer(FakePlayer):
        def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
            played.append(hashlib.sha256(path.read_bytes()).hexdigest())
            return FINISHED

    events: list[Event] = []
    options = RunnerOptions(clock=FakeClock(T0), on_event=events.append)
    runner = Runner(store, cache, HashingPlayer(), options)
    path = cache.fetch(media)
    path.write_bytes(content[: len(content) // 2])  # truncated on disk (SD card, power cut)
    runner.set_plan(_plan(_item("occ-1", media, 0, at=T0)))
    runner.run_due()
    assert played == [media.sha256]  # the re-fetched, verified file
    # now the server is gone too: a corrupt cached file cannot be replaced, so nothing plays
    path.write_bytes(b"bit rot")
    (media_server.root / "media" / f"{media.sha256}.mp3").unlink()
    runner.set_plan(_plan(_item("occ-2", media, 0, at=T0)))
    runner.run_due()
    assert played == [media.sha256]
    assert [(e.item_id, e.kind) for e in events][-1] == ("occ-2", "failed")
    assert not path.exists()


def test_prefetch_only_within_the_horizon_and_backs_off(
    tmp_path: Path, media_server: MediaServer
) -> None:
    soon = _bytes_media(media_server, tmp_path, "soon.mp3", b"soon")
    later = _bytes_media(media_server, tmp_path, "later.mp3", b"later")
    items = [_item("soon", soon, 600, at=T0), _item("later", later, 5400, at=T0)]
    cache = MediaCache(tmp_path / "media", 5.0)
    clock = FakeClock(T0)
    prefetcher = Prefetcher(
        cache, lambda: items, threading.Event(), 5.0, max_retry_s=20.0, horizon_s=3600.0,
        clock=clock,
    )  # fmt: skip
    assert [i.id for i in prefetcher.needed()] == ["soon"]
    assert prefetcher.fetch_all() == 0
    assert cache.cached(soon) and cache.cached(later) is None
    assert prefetcher.next_wait(0) == 1800  # when "later" enters the horizon
    clock.advance(timedelta(seconds=1800))
    assert [i.id for i in prefetcher.needed()] == ["soon", "later"]
    assert [prefetcher.next_wait(1) for _ in range(4)] == [5.0, 10.0, 20.0, 20.0]
    prefetcher.next_wait(0)
    assert prefetcher.next_wait(2) == 5.0  # a clean pass resets the backoff


# -- timing, relay, volume ------------------------------------------------------------------------


def _runner_thread(runner: Runner) -> Iterator[Runner]:
    runner.start()
    try:
        yield runner
    finally:
        runner.stop.set()
        runner.join()


def test_starts_are_on_time_and_lateness_is_reported(tmp_path: Path, store: Store) -> None:
    cache = MediaCache(tmp_path / "media", 1.0, store)
    media = Media(hashlib.sha256(b"x").hexdigest(), "http://127.0.0.1:9/x.mp3", 1, 1)
    cache.path_for(media).write_bytes(b"x")
    events: list[Event] = []
    runner = Runner(
        store, cache, FakePlayer(), RunnerOptions(on_event=events.append, prepare_s=0.5)
    )  # on the real clock: this measures how late each start is
    items = [_item(f"occ-{n}", media, 0.8 + 0.3 * n) for n in range(5)]
    runner.set_plan(_plan(*items))
    for _ in _runner_thread(runner):
        wait_for(lambda: sum(e.kind == "finished" for e in events) == 5, 10)
    started = [e for e in events if e.kind == "started"]
    assert all(e.late_ms is not None and e.late_ms < 50 for e in started), [
        e.late_ms for e in started
    ]
    assert all(e.detail.startswith(f"late by {e.late_ms} ms") for e in started)


def test_relay_switches_on_before_the_start_and_off_after_the_post_roll(
    tmp_path: Path, store: Store
) -> None:
    from gpiozero.pins.mock import MockFactory

    relay = GpioRelay(
        17, active_low=True, pre_roll_s=0.4, post_roll_s=0.5, pin_factory=MockFactory()
    )
    pin = relay.device.pin
    assert pin.state is True  # active-low: high means off
    cache = MediaCache(tmp_path / "media", 1.0, store)
    media = Media(hashlib.sha256(b"x").hexdigest(), "http://127.0.0.1:9/x.mp3", 1, 1)
    cache.path_for(media).write_bytes(b"x")
    events: list[tuple[str, float, bool]] = []
    options = RunnerOptions(
        on_event=lambda e: events.append((e.kind, time.monotonic(), pin.state)),
        prepare_s=0.2,
        relay=relay,
    )  # on the real clock: this times the relay against the starts
    runner = Runner(store, cache, BlockingPlayer(0.3), options)
    runner.set_plan(_plan(_item("a", media, 1.0), _item("b", media, 1.4)))  # back to back
    for _ in _runner_thread(runner):
        wait_for(lambda: [e[0] for e in events].count("finished") == 2, 10)
        wait_for(lambda: pin.state is True, 3, "relay off")
    changes = [(s.timestamp, s.state) for s in pin.states][1:]  # [0]: the mock pin's default
    assert [state for _, state in changes] == [True, False, True]  # off; on once, off once
    assert all(on is False for _, _, on in events)  # low = on at every start and end
    on_for = changes[2][0]  # MockPin timestamps count from the previous change
    first_start = next(t for k, t, _ in events if k == "started")
    last_end = [t for k, t, _ in events if k == "finished"][-1]
    # on 0.4 s (pre-roll) before the first start, off 0.5 s (post-roll) after the last end
    expected = (last_end - first_start) + 0.4 + 0.5
    assert abs(on_for - expected) < 0.25, (on_for, expected)
    relay.close()


def test_volume_per_item_through_amixer(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "amixer.log"
    fake = tmp_path / "amixer"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    mixer = AlsaMixer("PCM", card="0", binary=str(fake))
    cache = MediaCache(tmp_path / "media", 1.0, store)
    media = Media(hashlib.sha256(b"x").hexdigest(), "http://127.0.0.1:9/x.mp3", 1, 1)
    cache.path_for(media).write_bytes(b"x")
    options = RunnerOptions(clock=FakeClock(T0), mixer=mixer, default_volume=lambda: 70)
    runner = Runner(store, cache, FakePlayer(), options)
    runner.set_plan(
        _plan(_item("loud", media, -1, at=T0, volume=40), _item("default", media, -0.5, at=T0))
    )
    runner.run_due()
    assert log.read_text().splitlines() == ["-q -c 0 sset PCM 40%", "-q -c 0 sset PCM 70%"]
    assert not AlsaMixer(binary="no-such-amixer").available
    AlsaMixer(binary="no-such-amixer").set(50)  # a no-op without amixer


# -- players ---------------------------------------------------------------------------------------


def _fake_aplay(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "aplay-received.wav"
    fake = tmp_path / "aplay"
    fake.write_text(f"#!/bin/sh\ncat > {out}\n")
    fake.chmod(0o755)
    return fake, out


def test_aplay_player_pipes_decoded_audio_into_aplay(tmp_path: Path, tone_mp3: Path) -> None:
    fake, out = _fake_aplay(tmp_path)
    player = AplayPlayer(aplay=str(fake))
    assert player.play(tone_mp3, threading.Event(), label="x") == FINISHED
    with wave.open(str(out)) as w:  # streamed WAV: the header has no length; count the bytes
        seconds = (
            (out.stat().st_size - 44) / (w.getnchannels() * w.getsampwidth()) / w.getframerate()
        )
    assert 0.9 < seconds < 1.2
    stop = threading.Event()
    stop.set()
    assert player.play(tone_mp3, stop) == INTERRUPTED


def test_file_player_relays_a_live_stream_for_its_duration(tmp_path: Path, radio: Radio) -> None:
    player = FilePlayer(tmp_path / "out")
    began = time.monotonic()
    assert player.play_stream(radio.live_url, 2.0, threading.Event(), label="vov") == FINISHED
    assert time.monotonic() - began >= 1.9
    (wav,) = (tmp_path / "out").glob("*_vov.wav")
    with wave.open(str(wav)) as w:
        assert 1.8 < w.getnframes() / w.getframerate() < 2.3
    with pytest.raises(StreamError):
        player.play_stream(radio.dead_url, 2.0, threading.Event(), label="dead")


def test_mpv_relays_a_stream_and_reports_one_that_drops(radio: Radio) -> None:
    player = MpvPlayer(extra_args=("--ao=null",))
    began = time.monotonic()
    assert player.play_stream(radio.live_url, 1.5, threading.Event()) == FINISHED
    assert time.monotonic() - began >= 1.4
    with pytest.raises(StreamError) as exc:
        player.play_stream(radio.drop_url, 6.0, threading.Event())
    assert exc.value.played_s < 5


@pytest.mark.parametrize("which", ["dead", "drop"])
def test_a_failing_stream_falls_back_to_the_stored_item(
    which: str,
    tmp_path: Path,
    radio: Radio,
    media_server: MediaServer,
    tone_mp3: Path,
    store: Store,
) -> None:
    fallback = media_server.add(tone_mp3)
    url = radio.dead_url if which == "dead" else radio.drop_url
    item = _item("relay-1", fallback, 0, at=T0, stream=Stream(url, 4000))
    events: list[Event] = []
    runner = Runner(
        store,
        MediaCache(tmp_path / "media", 5.0, store),
        FilePlayer(tmp_path / "out"),
        RunnerOptions(clock=FakeClock(T0), on_event=events.append),
    )
    runner.set_plan(_plan(item))
    runner.run_due()
    assert [e.kind for e in events] == ["started", "finished"]
    assert events[0].detail.startswith("late by") and "stream " + url in events[0].detail
    assert "fallback played" in events[1].detail
    names = sorted(p.name.split("_", 1)[1] for p in (tmp_path / "out").glob("*.wav"))
    assert "relay-1-fallback.wav" in names


def test_a_working_stream_is_relayed(
    tmp_path: Path, radio: Radio, media_server: MediaServer, tone_mp3: Path, store: Store
) -> None:
    media = media_server.add(tone_mp3)
    item = _item("relay-2", media, 0, at=T0, stream=Stream(radio.live_url, 1500))
    events: list[Event] = []
    runner = Runner(
        store,
        MediaCache(tmp_path / "media", 5.0, store),
        FilePlayer(tmp_path / "out"),
        RunnerOptions(clock=FakeClock(T0), on_event=events.append),
    )
    runner.set_plan(_plan(item))
    runner.run_due()
    assert [(e.kind, e.detail) for e in events][1] == ("finished", "stream relayed")


# -- heartbeat ---------------------------------------------------------------------------------------


def test_heartbeat_status_carries_health(broker: PrivateBroker, tmp_path: Path) -> None:
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    config = AgentConfig(
        site=SITE,
        zones=["thon-1"],
        state_dir=str(tmp_path / "state"),
        trusted_keys=[signer.public_b64],
        mqtt_port=broker.port,
        mqtt_username=account.username,
        mqtt_password=account.password,
        player="file",
        output_dir=str(tmp_path / "out"),
        heartbeat_s=1.0,
        default_volume=80,
    )
    agent = Agent(config)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            wait_for(lambda: len(server.statuses) >= 3, 6, "three heartbeats")
        finally:
            agent.stop()
    online = [s for s in server.statuses if s["state"] == "online"]
    last = online[-1]
    assert last["uptime_s"] >= 1 and last["cache_bytes"] == 0 and last["keys_version"] == 0
    assert last["disk_free_bytes"] > 0 and last["volume"] == 80
    assert "clock_synced" in last or os.uname().sysname != "Linux"
    assert server.statuses[-1]["state"] == "offline"
