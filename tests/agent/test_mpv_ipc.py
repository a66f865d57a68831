"""The kept-running mpv: a real ``mpv --idle`` driven over its JSON IPC socket (``--ao=null``:
no sound card here), its reported start, interruption, restart after a kill, and no leaks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.fetch import MediaCache
from broadcaster.agent.mpv_ipc import IdleMpvPlayer
from broadcaster.agent.players import FINISHED, INTERRUPTED, PlayerError
from broadcaster.agent.runner import Runner, RunnerOptions
from broadcaster.agent.store import Store
from broadcaster.clock import FakeClock
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Plan, PlanItem

from .conftest import SITE, MediaServer

pytestmark = pytest.mark.skipif(
    shutil.which("mpv") is None,
    reason="mpv is not installed (apt install mpv): the kept-running player needs a real mpv",
)

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def player() -> Iterator[IdleMpvPlayer]:
    p = IdleMpvPlayer(extra_args=("--ao=null",))
    yield p
    p.close()


def _gone(pid: int, within_s: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie counts as gone)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def _reaped(player: IdleMpvPlayer, within_s: float = 5.0) -> bool:
    """True once our mpv child has exited and been reaped (all its threads gone)."""
    proc = player.ipc.proc
    assert proc is not None
    try:
        proc.wait(within_s)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_plays_in_real_time_reports_the_start_and_stays_running(
    player: IdleMpvPlayer, tone_mp3: Path
) -> None:
    starts: list[float] = []
    for _ in range(2):
        began = time.monotonic()
        assert player.play(tone_mp3, threading.Event(), started=starts.append) == FINISHED
        # the 1 s tone at its own pace (mpv ends a file once the null output has taken it all)
        assert time.monotonic() - began >= 0.6
    assert len(starts) == 2
    assert all(0 < s < 5 for s in starts)
    assert player.ipc.starts == 1  # one mpv for both items
    assert player.ipc.alive


def test_stop_interrupts_and_the_next_item_plays(player: IdleMpvPlayer, tone_mp3: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    assert player.play(tone_mp3, stop, started=lambda s: None) == INTERRUPTED
    assert time.monotonic() - began < 0.9
    assert player.play(tone_mp3, threading.Event()) == FINISHED


def test_an_undecodable_file_fails_and_mpv_keeps_running(
    player: IdleMpvPlayer, tmp_path: Path, tone_mp3: Path
) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 10)
    started: list[float] = []
    with pytest.raises(PlayerError, match="junk.mp3"):
        player.play(junk, threading.Event(), started=started.append)
    assert started == []
    assert player.ipc.alive
    assert player.play(tone_mp3, threading.Event()) == FINISHED
    assert player.ipc.starts == 1


def test_mpv_killed_between_items_is_restarted(player: IdleMpvPlayer, tone_mp3: Path) -> None:
    player.prepare()
    assert player.ipc.proc is not None
    first = player.ipc.proc.pid
    os.kill(first, signal.SIGKILL)
    assert _reaped(player)
    player.prepare()  # the runner calls this before each start
    assert player.ipc.proc is not None and player.ipc.proc.pid != first
    assert player.play(tone_mp3, threading.Event()) == FINISHED
    assert player.ipc.starts == 2


def test_mpv_killed_while_playing_fails_the_item_then_recovers(
    player: IdleMpvPlayer, tone_mp3: Path
) -> None:
    player.prepare()
    assert player.ipc.proc is not None
    pid = player.ipc.proc.pid
    threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
    with pytest.raises(PlayerError, match="mpv died"):
        player.play(tone_mp3, threading.Event())
    assert _gone(pid)
    assert player.play(tone_mp3, threading.Event()) == FINISHED  # started afresh
    assert player.ipc.starts == 2


def test_close_stops_mpv_and_removes_its_socket(player: IdleMpvPlayer) -> None:
    player.prepare()
    assert player.ipc.proc is not None
    pid, socket_dir = player.ipc.proc.pid, player.ipc._dir
    assert socket_dir is not None and socket_dir.is_dir()
    player.close()
    assert _gone(pid)
    assert not socket_dir.exists()


def test_mpv_does_not_outlive_a_killed_agent(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from broadcaster.agent.mpv_ipc import IdleMpvPlayer\n"
        "p = IdleMpvPlayer(extra_args=('--ao=null',)); p.prepare()\n"
        "print(p.ipc.proc.pid, flush=True); time.sleep(60)\n"
    )
    agent = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert agent.stdout is not None
        mpv_pid = int(agent.stdout.readline())
        assert not _gone(mpv_pid, 0.2)
        agent.kill()  # kill -9: no cleanup code runs in the agent
        agent.wait(5)
        assert _gone(mpv_pid)
    finally:
        agent.kill()
        agent.wait(5)
        if agent.stdout is not None:
            agent.stdout.close()


def test_the_runner_reports_the_measured_start(
    player: IdleMpvPlayer, tmp_path: Path, media_server: MediaServer, tone_mp3: Path
) -> None:
    media = media_server.add(tone_mp3)
    item = PlanItem("idle-1", T0, "Thông báo", 1, "normal", media)
    events: list[Event] = []
    with Store(tmp_path / "agent.sqlite3", SITE) as store:
        runner = Runner(
            store,
            MediaCache(tmp_path / "media", 5.0, store),
            player,
            RunnerOptions(clock=FakeClock(T0), on_event=events.append),
        )
        now = datetime.now(UTC)
        runner.set_plan(Plan(SITE, 1, now, now + timedelta(hours=1), (item,)))
        runner.run_due()
        assert store.cut_off_playback() is None
    assert [e.kind for e in events] == ["started", "finished"]
    assert events[0].late_ms == 0  # the fake clock stands still
    assert "(player started in " in events[0].detail
    assert player.ipc.starts == 1


def test_the_runner_prepares_the_player_before_the_start(
    player: IdleMpvPlayer, tmp_path: Path, media_server: MediaServer, tone_mp3: Path
) -> None:
    media = media_server.add(tone_mp3)
    item = PlanItem("idle-2", datetime.now(UTC) + timedelta(seconds=1), "Tin", 1, "normal", media)
    events: list[Event] = []
    done = threading.Event()

    def on_event(event: Event) -> None:
        events.append(event)
        if event.kind in ("finished", "failed"):
            done.set()

    with Store(tmp_path / "agent.sqlite3", SITE) as store:
        runner = Runner(
            store,
            MediaCache(tmp_path / "media", 5.0, store),
            player,
            RunnerOptions(prepare_s=2.0, on_event=on_event),
        )
        now = datetime.now(UTC)
        runner.set_plan(Plan(SITE, 1, now, now + timedelta(hours=1), (item,)))
        runner.start()
        try:
            assert done.wait(15)
        finally:
            runner.stop.set()
            runner.join()
    assert [e.kind for e in events] == ["started", "finished"]
    assert events[0].late_ms is not None
    assert "(player started in " in events[0].detail
    assert player.ipc.starts == 1  # started by prepare, 2 s ahead, not at the start
