"""The agent on a disk that fills up (issue 10): a store write that fails becomes a ``failed``
event (kept in memory until it can be written), the last error and ``store_ok`` false in the
heartbeat; an item whose media is cached still plays.

The first tests inject the failure into the store's SQLite connection; the last one runs a real
agent process whose state directory is a 3 MB tmpfs that a test file fills to the last byte."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from broadcaster.agent.store import Store, StoreError
from broadcaster.broker import PrivateBroker
from broadcaster.commands import play_now_item
from broadcaster.wire.signing import Signer
from tests.support.agents import AgentProcess, file_agent_config

from .conftest import SITE, BlockingPlayer, MediaServer, ServerClient, make_plan, wait_for
from .test_commands import TOPICS, Rig, item

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)


class FullDisk:
    """The store's connection on a disk that can fill up: while ``full``, every write
    transaction fails the way SQLite reports a full disk. Reads work as they do on a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.full = False

    @classmethod
    def under(cls, store: Store) -> FullDisk:
        disk = cls(store._db)
        store._db = disk  # type: ignore[assignment]
        return disk

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if self.full and sql.startswith("BEGIN"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_a_failed_write_keeps_the_event_in_memory_and_writes_it_in_order_later(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "a.sqlite3", "s1") as store:
        disk = FullDisk.under(store)
        store.append_event("started", T0, item_id="a")
        disk.full = True
        with pytest.raises(StoreError, match="disk is full"):
            store.save_plan(1, "{}", T0)
        with pytest.raises(StoreError):
            store.append_event("failed", T0, detail="store: plan v1 not saved")
        with pytest.raises(StoreError):
            store.append_event("started", T0, item_id="b", scheduled_at=T0, mark_handled=True)
        assert "disk is full" in store.write_error and store.unsaved_count() == 2
        assert [e.seq for e in store.pending_events()] == [1]  # reads still work
        disk.full = False
        store.append_event("finished", T0, item_id="b")  # the kept ones go first
        assert [(e.seq, e.kind, e.item_id) for e in store.pending_events()] == [
            (1, "started", "a"),
            (2, "failed", None),
            (3, "started", "b"),
            (4, "finished", "b"),
        ]
        assert store.handled_ids() == {"b"} and store.unsaved_count() == 0
        assert store.write_error == ""

        disk.full = True
        with pytest.raises(StoreError):
            store.set_volume(70)
        assert store.write_error
        disk.full = False
        assert store.retry_writes() == []  # nothing kept: a probe write clears the flag
        assert store.write_error == ""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path, BlockingPlayer(0.3))
    r.agent.start()
    try:
        yield r
    finally:
        r.agent.stop()


def test_a_plan_the_store_cannot_save_still_plays_and_the_failure_is_reported(rig: Rig) -> None:
    media = rig.media()  # cached before the disk filled up
    disk = FullDisk.under(rig.agent.store)
    disk.full = True
    rig.plan(1, [item(media, "occ-1", 0.3)])
    wait_for(lambda: rig.player.log == [("occ-1", "finished")], 5, "occ-1 played")
    assert rig.events() == []  # nothing could be written...
    assert rig.agent.store.unsaved_count() == 3  # ...it waits in memory
    status = rig.agent.status("online")
    assert status.store_ok is False
    assert "store: plan v1 not saved; it runs from memory" in status.last_error
    assert status.plan_version == 1  # what runs, not what is saved

    disk.full = False
    rig.agent.retry_writes()  # what the outbox thread does before each resend
    events = rig.events()
    assert [(e.kind, e.item_id) for e in events] == [
        ("failed", None),
        ("started", "occ-1"),
        ("finished", "occ-1"),
    ]
    assert events[0].detail.startswith("store: plan v1 not saved")
    assert "disk is full" in events[0].detail
    assert rig.agent.store.plan() is not None and rig.agent.store.plan()[0] == 1  # type: ignore[index]
    assert rig.agent.store.handled_ids() == {"occ-1"}  # a restart does not play it again
    assert rig.agent.status("online").store_ok is True


def test_an_emergency_the_store_cannot_record_plays_once_even_when_sent_again(rig: Rig) -> None:
    now_item = play_now_item(
        start=datetime.now(UTC), announcement_id=3, title="Bão", media=rig.media()
    )
    rig.commands.play_now(zones=["thon-1"], item=now_item, reason="bão")
    ((topic, data, *_),) = rig.sent.sent
    disk = FullDisk.under(rig.agent.store)
    disk.full = True
    rig.deliver()
    wait_for(lambda: len(rig.player.log) == 1, 5, "the emergency played")
    rig.agent.handle_message(topic, data)  # the server re-sends it: not played twice
    rig.agent.handle_message(TOPICS.site_cmd(SITE), data)
    wait_for(lambda: rig.agent.store.unsaved_count() == 4, 5, "failed, received, started, finished")
    assert len(rig.player.log) == 1
    disk.full = False
    rig.agent.retry_writes()
    assert rig.kinds() == [
        (None, "failed"),
        (now_item.id, "received"),
        (now_item.id, "started"),
        (now_item.id, "finished"),
    ]
    assert "not recorded; acted on from memory" in rig.events()[0].detail


# -- a real agent process on a real full disk ---------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs mounted for this test (root only), unmounted afterwards."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the injected-failure tests cover the rest")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no byte left; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def test_a_real_agent_on_a_full_disk_plays_from_memory_and_reports_it(
    broker: PrivateBroker,
    media_server: MediaServer,
    small_disk: Path,
    tone_mp3: Path,
    tmp_path: Path,
) -> None:
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    config = file_agent_config(
        account,
        broker.port,
        signer,
        tmp_path,
        state_dir=str(small_disk / "agent-state"),  # the store and the media cache
        heartbeat_s=1.0,
    )
    agent = AgentProcess(config, tmp_path)
    media = media_server.add(tone_mp3)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            server.wait_online()
            later = ("occ-later", 3600.0, media)
            server.publish_plan(make_plan(1, [later]))
            agent.wait_log(f"fetched media {media.sha256}")  # cached while there was room
            filler = fill(small_disk)

            server.publish_plan(make_plan(2, [later, ("occ-now", 2.0, media)]))
            wait_for(lambda: agent.wavs(), 15, "occ-now played from the cache")
            assert [w.name.split("_", 1)[1] for w in agent.wavs()] == ["occ-now.wav"]
            log = agent.log()
            assert "plan v2 not saved; it runs from memory" in log
            assert "kept in memory" in log

            def sick() -> dict[str, Any] | None:
                return next(
                    (
                        s
                        for s in server.statuses
                        if s.get("store_ok") is False
                        and "store: plan v2 not saved" in s.get("last_error", "")
                    ),
                    None,
                )

            status = wait_for(sick, 5, "a heartbeat with store_ok false and the plan's failure")
            assert status["plan_version"] == 2  # the plan that runs (from memory)

            filler.unlink()  # room again: what waited in memory goes out
            # In any order: the backlog (failed, started) goes out oldest first and the rest
            # after the server's first ack (this test server sends none, so after the wait),
            # while "finished" is published as it happens.
            got: dict[str, dict[str, Any]] = {}
            while not {"failed", "started", "finished"} <= got.keys():
                event = server.next_event(15)
                got.setdefault(event["kind"], event)
            assert got["failed"]["detail"].startswith("store: plan v2 not saved")
            assert got["failed"]["item_id"] is None
            assert got["started"]["item_id"] == "occ-now"
            assert got["finished"]["item_id"] == "occ-now"
            assert got["started"]["seq"] < got["finished"]["seq"]
            wait_for(lambda: server.statuses[-1].get("store_ok") is True, 5, "store_ok true again")
        finally:
            code = agent.stop()
            print(agent.log())
    assert code == 0, "the agent did not exit cleanly"
    with Store(small_disk / "agent-state" / "agent.sqlite3", SITE) as store:
        assert store.plan() is not None and store.plan()[0] == 2  # type: ignore[index]
        assert "occ-now" in store.handled_ids()
