"""Exactly one scheduler: the lock itself on SQLite (a file lock) and PostgreSQL (an advisory
lock), then two real `broadcaster scheduler` processes: the second waits as a hot standby, says
so in its log, and takes over within 10 s of the first being killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from broadcaster.broker import PrivateBroker
from broadcaster.leader import AdvisoryLock, FileLock, Leadership, lock_for
from tests.support.process import LoggedProcess, cli_args, server_env

pytestmark = pytest.mark.fault


def test_a_file_lock_is_held_by_one_holder_until_released(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "db.lock"), FileLock(tmp_path / "db.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert str(os.getpid()) in second.holder()
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_an_advisory_lock_is_per_schema(postgres_schema: tuple[str, str]) -> None:
    server, schema = postgres_schema
    import psycopg

    with psycopg.connect(server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{server}?options=-csearch_path%3D{schema}"
    first, second = lock_for(url), lock_for(url)
    assert isinstance(first, AdvisoryLock) and isinstance(second, AdvisoryLock)
    elsewhere = lock_for(server)  # the database's public schema: another installation
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert "backend pid" in second.holder()
        assert elsewhere.try_acquire(), "another schema is another installation"
        assert first.held()
        first.release()
        assert second.try_acquire()
    finally:
        for lock in (first, second, elsewhere):
            lock.release()


def test_leadership_moves_to_the_standby_when_the_leader_stops(tmp_path: Path) -> None:
    events: list[str] = []
    a = Leadership(
        FileLock(tmp_path / "l"),
        lambda: events.append("a up"),
        lambda: events.append("a down"),
        0.05,
    )
    b = Leadership(
        FileLock(tmp_path / "l"),
        lambda: events.append("b up"),
        lambda: events.append("b down"),
        0.05,
    )
    a.start()
    assert a.leading.wait(5)
    b.start()
    time.sleep(0.3)
    assert not b.leading.is_set()
    a.stop()
    assert b.leading.wait(5)
    b.stop()
    assert events == ["a up", "a down", "b up", "b down"]


@pytest.fixture
def scheduler_env(broker: PrivateBroker, tmp_path: Path) -> dict[str, str]:
    broker.start()
    return server_env(tmp_path, **broker.server_mqtt(), scheduler_lock_poll_s=1)


def test_a_second_scheduler_is_a_hot_standby_and_takes_over(
    scheduler_env: dict[str, str], any_db_url: str, tmp_path: Path
) -> None:
    env = dict(scheduler_env, BROADCASTER_DATABASE_URL=any_db_url)
    first = LoggedProcess(cli_args("scheduler"), tmp_path / "first.log", env).start()
    second: LoggedProcess | None = None
    try:
        first.wait_log("elected", 30)
        second = LoggedProcess(cli_args("scheduler"), tmp_path / "second.log", env).start()
        second.wait_log("standby, another scheduler holds the lock", 30)
        assert "elected" not in second.log()
        first.kill()
        took = second.wait_log("elected", 10)
        assert took < 10
        second.wait_log("scheduler started", 10)
    finally:
        first.stop()
        if second:
            second.stop()
