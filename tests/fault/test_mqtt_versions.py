"""A real agent and the server's real ingest and plan publishing over one Mosquitto, in MQTT 5 and
3.1.1, plain and over TLS with client certificates: a plan plays and its events are stored and
acknowledged, both sides resubscribe after a broker restart, and the agent's last will marks the
site offline when it is killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.models import Site
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.wire.signing import Signer
from tests.agent.conftest import make_plan
from tests.support.agents import AgentProcess, file_agent_config
from tests.support.tls import make_tls

from .conftest import SITE, Ingest, MediaServer, wait_for

pytestmark = pytest.mark.fault

CASES = [("5", False), ("3.1.1", False), ("5", True), ("3.1.1", True)]


def _site_state(factory: sessionmaker[Session]) -> str:
    with factory() as s:
        site = s.get(Site, SITE)
        return site.state if site else ""


@pytest.mark.parametrize(
    ("protocol", "tls"), CASES, ids=[f"mqtt{p}-{'tls' if t else 'plain'}" for p, t in CASES]
)
def test_agent_and_server_talk_over_each_protocol(
    protocol: str,
    tls: bool,
    broker: PrivateBroker,
    media_server: MediaServer,
    tone_mp3: Path,
    db: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> None:
    account = broker.add_agent(SITE, ["thon-1"])
    server_tls: dict[str, Any] = {}
    agent_tls: dict[str, Any] = {}
    if tls:
        files = make_tls(tmp_path / "tls")
        broker.tls = files.broker(require_certificate=True)
        for extra, name in ((server_tls, "server"), (agent_tls, account.username)):
            cert, key = files.client(name)
            extra.update(
                mqtt_host="localhost",
                mqtt_tls=True,
                mqtt_ca_file=str(files.ca),
                mqtt_cert_file=str(cert),
                mqtt_key_file=str(key),
            )
    broker.start()
    port = broker.tls_port if tls else broker.port  # the agents' listener
    signer = Signer.generate()
    with db() as s, s.begin():
        s.add(Site(id=SITE, name="Cụm loa thôn 1"))
    server_settings = settings.replace(
        **broker.server_mqtt(tls=tls),
        mqtt_protocol=protocol,
        **server_tls,
    )
    ingest = Ingest(server_settings, db, signer)
    ingest.start()
    plans = Link(server_settings.mqtt_options(), unique_client_id("scheduler"))
    assert plans.start(wait=10)
    config = file_agent_config(
        account, port, signer, tmp_path, keepalive_s=5, mqtt_protocol=protocol, **agent_tls
    )
    agent = AgentProcess(config, tmp_path)
    agent.start()
    try:
        wait_for(lambda: _site_state(db) == "online", 15, "the agent's online status stored")
        media = media_server.add(tone_mp3)
        plan = make_plan(1, [("p1", 1.0, media)])
        plans.publish(broker.topics.plan(SITE), signer.sign(plan.to_dict()), retain=True)
        ingest.wait_kind("p1", "finished", 20)

        broker.restart()
        wait_for(plans.connected.is_set, 15, "the plan publisher reconnected")
        assert ingest.conn is not None
        wait_for(ingest.conn.connected.is_set, 15, "ingest reconnected")
        plan = make_plan(2, [("p2", 2.0, media)])
        plans.publish(broker.topics.plan(SITE), signer.sign(plan.to_dict()), retain=True)
        ingest.wait_kind("p2", "finished", 30)
        wait_for(lambda: not agent.outbox()[0], 20, "the outbox acknowledged")

        agent.kill()  # no DISCONNECT: the broker publishes the last will
        wait_for(lambda: _site_state(db) == "offline", 15, "the last will stored")
    finally:
        agent.stop()
        plans.stop()
        ingest.stop()
