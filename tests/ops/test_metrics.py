"""Each process's /metrics, scraped from real running parts: `broadcaster ingest` counts the
events it stores (duplicates not) and shows its queue; `broadcaster scheduler` times each plan
it publishes and says it leads; the web's /metrics reads sites and emergency deliveries from
the database (gunicorn's workers: tests/ops/test_gunicorn.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER, PrivateBroker, free_port
from broadcaster.config import ConfigError, Settings
from broadcaster.db import make_engine, session_factory, transaction, upgrade
from broadcaster.models import PlaybackEvent, SitePlan
from broadcaster.mqtt import Link, MqttOptions, unique_client_id
from broadcaster.wire.messages import Event
from broadcaster.wire.topics import Topics
from schedules.programme_import import import_demo
from tests.ops.conftest import samples, total
from tests.support.clock import FIXED_NOW
from tests.support.process import LoggedProcess, cli_args, server_env

SITE = "cum-loa-t1"
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(port: int) -> dict:
    s = requests.Session()
    s.trust_env = False
    r = s.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    r.raise_for_status()
    return samples(r.text)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s: {what}")


def event(seq: int) -> bytes:
    e = Event(
        id=str(uuid.uuid4()),
        site=SITE,
        outbox="ob1",
        seq=seq,
        kind="started",
        at=FIXED_NOW + timedelta(seconds=seq),
        item_id=f"{SITE}-{seq}",
        scheduled_at=FIXED_NOW,
    )
    return json.dumps(e.to_dict()).encode()


def test_ingest_and_scheduler_serve_their_own_metrics(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    broker.start()
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    sessions: sessionmaker[Session] = session_factory(engine)
    with transaction(sessions) as session:
        import_demo(session)
    ingest_port, scheduler_port = free_port(), free_port()
    env = server_env(
        tmp_path,
        database_url=url,
        **broker.server_mqtt(),
        ingest_metrics_port=ingest_port,
        scheduler_metrics_port=scheduler_port,
    )
    ingest = LoggedProcess(cli_args("ingest"), tmp_path / "ingest.log", env).start()
    scheduler = LoggedProcess(cli_args("scheduler"), tmp_path / "scheduler.log", env).start()
    agent = Link(
        MqttOptions(
            host="127.0.0.1",
            port=broker.server_port,
            username=SERVER_USER,
            password=broker.server_password,
        ),
        unique_client_id("test-agent"),
    )
    try:
        ingest.wait_port(ingest_port, 30)
        scheduler.wait_port(scheduler_port, 30)
        assert agent.start(wait=10)
        topic = Topics("loa/v1").events(SITE)

        before = scrape(ingest_port)
        assert total(before, "broadcaster_ingest_events_stored_total") == 0
        assert ("broadcaster_ingest_queue_depth", ()) in before
        events = [event(seq) for seq in range(1, 26)]

        def stored(n: int) -> Callable[[], bool]:
            return lambda: total(scrape(ingest_port), "broadcaster_ingest_events_stored_total") == n

        # The first event until it counts (as an agent resends until acknowledged): ingest is
        # then connected and subscribed.
        deadline = time.monotonic() + 15
        while not stored(1)():
            assert time.monotonic() < deadline, ingest.log()
            agent.publish(topic, events[0])
            time.sleep(0.3)
        for payload in events[1:20]:
            agent.publish(topic, payload)
        wait_for(stored(20), 15, "20 events counted")
        # The same 20 again (resent before their ack came), then 5 new: only the 5 count.
        for payload in events:
            agent.publish(topic, payload)
        wait_for(stored(25), 15, "25 events counted")
        with sessions() as session:
            rows = session.scalar(select(func.count()).select_from(PlaybackEvent))
        assert rows == 25
        assert scrape(ingest_port)[("broadcaster_ingest_queue_depth", ())] == 0

        def published() -> bool:
            page = scrape(scheduler_port)
            with sessions() as session:
                plans = session.scalar(select(func.count()).select_from(SitePlan))
            count = total(page, "broadcaster_plan_publish_seconds_count")
            return page[("broadcaster_scheduler_leading", ())] == 1 and count == plans > 0

        wait_for(published, 20, "every site's plan published and timed")
        page = scrape(scheduler_port)
        assert total(page, "broadcaster_plan_publish_seconds_sum") > 0
    finally:
        agent.stop()
        assert ingest.stop() == 0, ingest.log()
        assert scheduler.stop() == 0, scheduler.log()
        engine.dispose()


def test_metrics_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="ingest_metrics_port"):
        Settings.load(env={"BROADCASTER_INGEST_METRICS_PORT": "70000"})
    with pytest.raises(ConfigError, match="metrics_token"):
        Settings.load(env={"BROADCASTER_METRICS_TOKEN": "short"})
    assert (
        Settings.load(env={"BROADCASTER_SCHEDULER_METRICS_PORT": "9101"}).scheduler_metrics_port
        == 9101
    )
