"""Ingest scale-out, for real: three `broadcaster ingest` processes, each with its own client id,
share the agents' events through an MQTT shared subscription on a private Mosquitto. Three real
agents play a burst of short items; one worker is SIGKILLed in the middle of it. Every event is
stored exactly once (each site's seqs 1..N, no gap, no double) and every agent's outbox empties."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.db import make_engine, session_factory
from broadcaster.models import PlaybackEvent, Site
from broadcaster.mqtt import Link, MqttOptions, unique_client_id
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.agent.conftest import MediaServer, make_mp3, make_plan
from tests.support.agents import AgentProcess, file_agent_config, wait_for

pytestmark = pytest.mark.fault

SITES = ("cum-loa-a", "cum-loa-b", "cum-loa-c")
ITEMS = 8


class IngestProcess:
    def __init__(self, env: dict[str, str], worker: str, log: Path) -> None:
        self.log_path = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "broadcaster.cli", "ingest"],
                env=dict(env, BROADCASTER_INGEST_WORKER=worker, BROADCASTER_INGEST_GROUP="ingest"),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def workers_env(
    broker: PrivateBroker, postgres_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    broker.start()
    key = tmp_path / "signing-key.pem"
    Signer.generate().save(key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    env.update(
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        BROADCASTER_DATABASE_URL=postgres_url,
        BROADCASTER_MQTT_PORT=str(broker.server_port),
        BROADCASTER_MQTT_USERNAME=SERVER_USER,
        BROADCASTER_MQTT_PASSWORD=broker.server_password,
        BROADCASTER_SIGNING_KEY_FILE=str(key),
        BROADCASTER_MEDIA_DIR=str(tmp_path / "media"),
        BROADCASTER_SECRET_KEY="a-test-secret-key-long-enough-to-pass-checks-0123456789",
    )
    yield env


def _outbox_left(state_dir: str) -> int:
    path = Path(state_dir) / "agent.sqlite3"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        return int(c.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _last_seq(state_dir: str) -> int:
    path = Path(state_dir) / "agent.sqlite3"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        return int(c.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]) - 1


def test_three_workers_one_killed_mid_burst_store_each_event_once(
    workers_env: dict[str, str],
    broker: PrivateBroker,
    media_server: MediaServer,
    tmp_path: Path,
) -> None:
    engine = make_engine(workers_env["BROADCASTER_DATABASE_URL"])
    factory: sessionmaker[Session] = session_factory(engine)
    with factory() as s, s.begin():
        s.add_all(Site(id=site, name=site) for site in SITES)
    accounts = [broker.add_agent(site, ["thon-1"]) for site in SITES]
    broker.restart()  # the new agents' passwords and ACL
    signer = Signer.load(workers_env["BROADCASTER_SIGNING_KEY_FILE"])
    workers = [IngestProcess(workers_env, f"w{n}", tmp_path / f"ingest-{n}.log") for n in (1, 2, 3)]
    agents: list[AgentProcess] = []
    plans = Link(
        MqttOptions(port=broker.server_port, username=SERVER_USER, password=broker.server_password),
        unique_client_id("scheduler"),
    )
    try:
        for w in workers:
            wait_for(lambda w=w: "connected to MQTT broker" in w.log(), 30, "ingest connected")
        assert plans.start(wait=10)
        for account in accounts:
            config = file_agent_config(
                account, broker.port, signer, tmp_path / account.site, keepalive_s=5
            )
            agent = AgentProcess(config, tmp_path / account.site)
            agent.start()
            agents.append(agent)
        media = media_server.add(make_mp3(tmp_path / "blip.mp3", seconds=0.2))
        for account in accounts:
            items = [(f"{account.site}-{n}", 4.0 + 0.5 * n, media) for n in range(ITEMS)]
            plan = make_plan(1, items, site=account.site)
            plans.publish(Topics().plan(account.site), signer.sign(plan.to_dict()), retain=True)

        def stored() -> int:
            with factory() as s:
                return int(s.scalar(select(func.count()).select_from(PlaybackEvent)) or 0)

        wait_for(lambda: stored() >= 6, 30, "the burst under way")
        workers[0].proc.send_signal(signal.SIGKILL)  # mid-burst, no clean disconnect
        workers[0].proc.wait()
        for agent in agents:
            agent.wait_log(f"item {agent.config.site}-{ITEMS - 1} finished", timeout=40)
        for agent in agents:
            wait_for(lambda a=agent: _outbox_left(a.config.state_dir) == 0, 40, "outbox acked")
        with factory() as s:
            rows = s.execute(select(PlaybackEvent.site_id, PlaybackEvent.seq)).all()
        for agent in agents:
            seqs = sorted(seq for site, seq in rows if site == agent.config.site)
            assert seqs == list(range(1, _last_seq(agent.config.state_dir) + 1)), seqs
        per_site = {site: sum(1 for s_, _ in rows if s_ == site) for site in SITES}
        assert all(n >= 2 * ITEMS for n in per_site.values()), per_site  # started + finished
    finally:
        for agent in agents:
            agent.stop()
        plans.stop()
        for w in workers:
            w.stop()
        engine.dispose()
