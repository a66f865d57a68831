"""A stolen Pi floods (issue 10): with agent A's password, a real paho client sends its events
topic as fast as it can while site B reports as usual. The server's real ingest part
(``IngestPart``: per-site limits, SQLite) acknowledges B's events in time, and the log holds a
few "over its limit" lines, not one per message."""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import AgentAccount, PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.models import PlaybackEvent, Site
from broadcaster.processes import IngestPart
from broadcaster.wire.messages import Event
from tests.support.agents import REPO

pytestmark = pytest.mark.fault

A, B = "cum-loa-a", "cum-loa-b"
# Once A is left out at the broker (within its first second or so of flooding), B's acks come
# back within SETTLED_S; the first ones, queued behind A's start, within ACK_WITHIN_S. Without
# the limits B waited ~20 s in issue 10's 45 s flood (7 s in a 5 s one with the bucket alone).
# Generous bounds: the machine running the tests is shared.
ACK_WITHIN_S = 5.0
SETTLED_AFTER_S = 2.0
SETTLED_S = 3.0  # also when A is taken back after its time out and floods again (a blip)


class Reporter:
    """Site B: one event every ``every_s`` over QoS 1, acks timed as they come back."""

    def __init__(self, broker: PrivateBroker, account: AgentAccount, every_s: float) -> None:
        self.topics = broker.topics
        self.every_s = every_s
        self.outbox = str(uuid.uuid4())
        self.sent: dict[int, float] = {}
        self.latency: dict[int, float] = {}
        self.acks: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=account.username)
        self.client.username_pw_set(account.username, account.password)
        self.client.on_connect = lambda c, *_: c.subscribe(self.topics.ack(B), qos=1)
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_ack(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        ack = json.loads(msg.payload)["payload"]
        now = time.monotonic()
        for seq, at in list(self.sent.items()):
            if seq <= ack["seq"] and seq not in self.latency:
                self.latency[seq] = now - at

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(self.every_s):
            seq += 1
            event = Event(
                id=str(uuid.uuid4()),
                site=B,
                outbox=self.outbox,
                seq=seq,
                kind="received",
                at=datetime.now(UTC),
            )
            self.sent[seq] = time.monotonic()
            self.client.publish(self.topics.events(B), json.dumps(event.to_dict()), qos=1)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_s: float = ACK_WITHIN_S) -> None:
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + drain_s
        while len(self.latency) < len(self.sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client.disconnect()
        self.client.loop_stop()


class LogSize(logging.Handler):
    """Counts what the server's loggers write (WARNING and up: a production log level)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def ingest(
    broker: PrivateBroker, settings: Settings, db: sessionmaker[Session]
) -> Iterator[tuple[PrivateBroker, dict[str, AgentAccount]]]:
    accounts = {site: broker.add_agent(site, ["thon-1"]) for site in (A, B)}
    broker.start()
    with db() as s, s.begin():
        s.add_all([Site(id=A, name="Cụm loa A"), Site(id=B, name="Cụm loa B")])
    # A lone ingest worker (ingest_group ""): the one that leaves a flooding site out at the
    # broker (workers sharing a group keep only the per-site bucket: docs/decisions.md).
    part = IngestPart(settings.replace(**broker.server_mqtt(), ingest_group=""), SystemClock())
    part.start()
    try:
        yield broker, accounts
    finally:
        part.stop()


def _flood(broker: PrivateBroker, account: AgentAccount, seconds: float) -> subprocess.Popen[str]:
    spec = {
        "port": broker.port,
        "username": account.username,
        "password": account.password,
        "client_id": f"agent-{B}",  # it asks for B's id too: the broker gives it A's
        "site": A,
        "topic": broker.topics.events(A),
        "seconds": seconds,
        "qos": 1,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.flood", json.dumps(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
    return proc


def _run_flood(
    ingest: tuple[PrivateBroker, dict[str, AgentAccount]],
    db: sessionmaker[Session],
    seconds: float,
) -> None:
    broker, accounts = ingest
    log = LogSize()
    root = logging.getLogger()
    root.addHandler(log)
    reporter = Reporter(broker, accounts[B], every_s=0.25)
    try:
        flood = _flood(broker, accounts[A], seconds)
        flood_started = time.monotonic()
        reporter.start()
        out, err = flood.communicate(timeout=seconds + 30)
        reporter.stop()
    finally:
        root.removeHandler(log)
    assert flood.returncode == 0, err
    sent = int(out.split()[-1])
    with db() as s:
        stored_a = s.scalar(select(func.count()).where(PlaybackEvent.site_id == A))
        stored_b = s.scalar(select(func.count()).where(PlaybackEvent.site_id == B))
    worst = max(reporter.latency.values(), default=float("inf"))
    print(  # noqa: T201 - the figures, for the record
        f"A sent {sent} messages in {seconds:.0f} s ({stored_a} of its events stored); "
        f"B: {len(reporter.latency)}/{len(reporter.sent)} acked, worst {worst:.2f} s "
        f"{[round(reporter.latency[s], 2) for s in sorted(reporter.latency)]}; "
        f"log: {len(log.lines)} lines, {sum(map(len, log.lines))} bytes"
    )
    assert sent > 20 * seconds * 10, "the flood was not one"
    # B: every event acknowledged, none late.
    assert len(reporter.sent) >= seconds * 2
    assert len(reporter.latency) == len(reporter.sent) == stored_b
    assert worst < ACK_WITHIN_S, reporter.latency
    settled = [
        latency
        for seq, latency in reporter.latency.items()
        if reporter.sent[seq] - flood_started >= SETTLED_AFTER_S
    ]
    assert len(settled) >= (seconds - SETTLED_AFTER_S) * 2
    assert max(settled) < SETTLED_S, reporter.latency
    # A: held to its rate (20/s after a burst of 600; the junk half is never stored).
    assert stored_a is not None and stored_a <= 600 + 20 * (seconds + 5)
    # The log: a few lines per 10 s about A (its drops, its time out, at most five others),
    # not one per message.
    about_a = [line for line in log.lines if A in line]
    windows = seconds / 10 + 1
    assert any("over its limit" in line for line in about_a), about_a
    assert any("left out at the broker" in line for line in about_a), about_a
    assert len(about_a) <= 8 * windows, about_a
    assert sum(map(len, log.lines)) < 8 * 300 * windows


def test_a_flooding_site_does_not_delay_the_others(
    ingest: tuple[PrivateBroker, dict[str, AgentAccount]], db: sessionmaker[Session]
) -> None:
    _run_flood(ingest, db, seconds=5)


@pytest.mark.slow
def test_a_45_second_flood_does_not_delay_the_others(
    ingest: tuple[PrivateBroker, dict[str, AgentAccount]], db: sessionmaker[Session]
) -> None:
    _run_flood(ingest, db, seconds=45)
