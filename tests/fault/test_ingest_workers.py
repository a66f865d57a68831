"""Ingest scale-out, for real: three `broadcaster ingest` processes, each with its own client id,
share the agents' events through an MQTT shared subscription on a private Mosquitto. Three real
agents play a burst of short items; one worker is SIGKILLed in the middle of it. Every event is
stored exactly once (each site's seqs 1..N, no gap, no double) and every agent's outbox empties."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.db import make_engine, session_factory
from broadcaster.models import Site
from broadcaster.mqtt import Link, MqttOptions, unique_client_id
from broadcaster.wire.signing import Signer
from tests.agent.conftest import MediaServer
from tests.support.agents import AgentProcess, file_agent_config
from tests.support.ingest_workers import ingest_worker, kill_mid_burst_and_check, publish_burst
from tests.support.process import server_env

pytestmark = pytest.mark.fault

SITES = ("cum-loa-a", "cum-loa-b", "cum-loa-c")


def test_three_workers_one_killed_mid_burst_store_each_event_once(
    broker: PrivateBroker,
    postgres_url: str,
    media_server: MediaServer,
    tmp_path: Path,
) -> None:
    engine = make_engine(postgres_url)
    db: sessionmaker[Session] = session_factory(engine)
    with db() as s, s.begin():
        s.add_all(Site(id=site, name=site) for site in SITES)
    accounts = [broker.add_agent(site, ["thon-1"]) for site in SITES]
    broker.start()
    env = server_env(tmp_path, database_url=postgres_url, **broker.server_mqtt())
    signer = Signer.generate()
    signer.save(Path(env["BROADCASTER_SIGNING_KEY_FILE"]))
    workers = [ingest_worker(env, f"w{n}", tmp_path / f"ingest-{n}.log") for n in (1, 2, 3)]
    agents: list[AgentProcess] = []
    plans = Link(
        MqttOptions(port=broker.server_port, username=SERVER_USER, password=broker.server_password),
        unique_client_id("scheduler"),
    )
    try:
        for w in workers:
            w.wait_log("connected to MQTT broker", 30)
        assert plans.start(wait=10)
        for account in accounts:
            config = file_agent_config(
                account, broker.port, signer, tmp_path / account.site, keepalive_s=5
            )
            agents.append(AgentProcess(config, tmp_path / account.site).start())
        publish_burst(plans, signer, media_server, SITES, tmp_path)
        kill_mid_burst_and_check(db, workers[0], agents, timeout=40)
    finally:
        for agent in agents:
            agent.stop()
        plans.stop()
        for w in workers:
            w.stop()
        engine.dispose()
