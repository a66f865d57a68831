"""Exactly one scheduler: the lock itself on SQLite (a file lock) and PostgreSQL (an advisory
lock), then two real `broadcaster scheduler` processes: the second waits as a hot standby, says
so in its log, and takes over within 10 s of the first being killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.leader import AdvisoryLock, FileLock, Leadership, lock_for

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


class SchedulerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "broadcaster.cli", "scheduler"],
            env=env,
            stdout=self.file,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if text in self.log():
                return time.monotonic() - start
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not in the log after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.file.close()


@pytest.fixture
def scheduler_env(broker: PrivateBroker, tmp_path: Path) -> Iterator[dict[str, str]]:
    broker.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    env.update(
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        BROADCASTER_MQTT_PORT=str(broker.server_port),
        BROADCASTER_MQTT_USERNAME=SERVER_USER,
        BROADCASTER_MQTT_PASSWORD=broker.server_password,
        BROADCASTER_MEDIA_DIR=str(tmp_path / "media"),
        BROADCASTER_SIGNING_KEY_FILE=str(tmp_path / "signing-key.pem"),
        BROADCASTER_SECRET_KEY="a-test-secret-key-long-enough-to-pass-checks-0123456789",
        BROADCASTER_SCHEDULER_LOCK_POLL_S="1",
    )
    yield env


def test_a_second_scheduler_is_a_hot_standby_and_takes_over(
    scheduler_env: dict[str, str], any_db_url: str, tmp_path: Path
) -> None:
    env = dict(scheduler_env, BROADCASTER_DATABASE_URL=any_db_url)
    first = SchedulerProcess(env, tmp_path / "first.log")
    second: SchedulerProcess | None = None
    try:
        first.wait_log("elected", 30)
        second = SchedulerProcess(env, tmp_path / "second.log")
        second.wait_log("standby, another scheduler holds the lock", 30)
        assert "elected" not in second.log()
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        took = second.wait_log("elected", 10)
        assert took < 10
        second.wait_log("scheduler started", 10)
    finally:
        first.stop()
        if second:
            second.stop()
