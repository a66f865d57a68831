"""Ingest scale-out on a NATS cluster, for real: NATS 2.9's MQTT has no shared subscriptions, so
three `broadcaster ingest` processes take the agents' events from NATS's queue group through
its own protocol (``ingest_nats_servers``), each on another node. Three real agents (MQTT 3.1.1)
play a burst of short items; one worker is SIGKILLed in the middle of it. Every event is stored
exactly once (each site's seqs 1..N, no gap, no double) and every agent's outbox empties: the
acks reach the agents."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER
from broadcaster.config import ConfigError, Settings
from broadcaster.db import make_engine, session_factory
from broadcaster.models import Site
from broadcaster.mqtt import Link, MqttOptions, unique_client_id
from broadcaster.nats_cluster import NatsCluster
from broadcaster.nats_queue import parse_servers, topic_of
from broadcaster.wire.signing import Signer
from tests.agent.conftest import MediaServer
from tests.support.agents import AgentProcess, file_agent_config, wait_for
from tests.support.ingest_workers import ingest_worker, kill_mid_burst_and_check, publish_burst
from tests.support.process import LoggedProcess, server_env

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(
        not (shutil.which("nats-server") or Path("/usr/sbin/nats-server").exists()),
        reason="nats-server is not installed (Debian package nats-server; scripts/bootstrap.sh)",
    ),
]

SITES = ("cum-loa-a", "cum-loa-b", "cum-loa-c")


def test_the_setting_names_the_queue_group_and_nats_urls() -> None:
    assert parse_servers(" nats://n1:4222, tls://n2:4222 ") == ["nats://n1:4222", "tls://n2:4222"]
    assert topic_of("loa.v1.sites.cum-loa-a.events") == "loa/v1/sites/cum-loa-a/events"
    with pytest.raises(ConfigError, match="needs ingest_group"):
        Settings(ingest_nats_servers="nats://n1:4222").validate()
    with pytest.raises(ConfigError, match="ingest_nats_servers"):
        Settings(ingest_nats_servers="n1:4222", ingest_group="ingest").validate()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    c = NatsCluster(tmp_path / "nats")
    yield c
    c.stop()


def test_only_the_server_speaks_the_nats_protocol(cluster: NatsCluster) -> None:
    """The NATS port is open to the ingest workers; an agent's login is refused there (its
    ``$MQTT.sub.>`` permission would read other sessions' deliveries), and works over MQTT."""
    account = cluster.add_agent("site-a", ["thon-1"])
    cluster.start()
    port = cluster.nodes[0].client_port

    def login(user: str, password: str) -> str:
        """NATS's answer to CONNECT then PING: PONG, or -ERR."""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            info = sock.makefile("rb")
            assert info.readline().startswith(b"INFO ")
            connect = json.dumps({"user": user, "pass": password, "verbose": False})
            sock.sendall(f"CONNECT {connect}\r\nPING\r\n".encode())
            return info.readline().decode().strip()

    assert login(SERVER_USER, cluster.server_password) == "PONG"
    assert login(account.username, account.password) == "-ERR 'Authorization Violation'"
    agent = Link(
        MqttOptions(
            port=cluster.nodes[0].mqtt_port,
            username=account.username,
            password=account.password,
            protocol="3.1.1",
        ),
        account.username,
    )
    try:
        assert agent.start(wait=10)
    finally:
        agent.stop()


@pytest.mark.slow
def test_three_workers_on_nats_one_killed_mid_burst_store_each_event_once(
    cluster: NatsCluster,
    postgres_url: str,
    media_server: MediaServer,
    tmp_path: Path,
) -> None:
    accounts = [cluster.add_agent(site, ["thon-1"]) for site in SITES]
    cluster.start()
    mqtt = cluster.mqtt_addresses
    nats = [f"nats://127.0.0.1:{n.client_port}" for n in cluster.nodes]
    env = server_env(
        tmp_path,
        database_url=postgres_url,
        mqtt_username=SERVER_USER,
        mqtt_password=cluster.server_password,
        mqtt_protocol="3.1.1",
    )
    signer = Signer.generate()
    signer.save(Path(env["BROADCASTER_SIGNING_KEY_FILE"]))

    def on_node(i: int) -> dict[str, str]:
        """Worker i's MQTT and NATS on node i first, the others after."""
        order = [i, *(j for j in range(3) if j != i)]
        return dict(
            env,
            BROADCASTER_MQTT_PORT=mqtt[i].rsplit(":", 1)[1],
            BROADCASTER_MQTT_FALLBACK_BROKERS=",".join(mqtt[j] for j in order[1:]),
            BROADCASTER_INGEST_NATS_SERVERS=",".join(nats[j] for j in order),
        )

    engine = make_engine(postgres_url)
    db: sessionmaker[Session] = session_factory(engine)
    with db() as s, s.begin():
        s.add_all(Site(id=site, name=site) for site in SITES)
    workers = [ingest_worker(on_node(n), f"w{n}", tmp_path / f"ingest-{n}.log") for n in range(3)]
    agents: list[AgentProcess] = []
    plans = Link(
        MqttOptions(
            port=cluster.nodes[0].mqtt_port,
            username=SERVER_USER,
            password=cluster.server_password,
            protocol="3.1.1",
        ),
        unique_client_id("scheduler"),
        publish_timeout=30,
    )
    try:
        for w in workers:
            w.wait_log("queue group 'ingest'", 30)
            w.wait_log("connected to MQTT broker", 30)
        assert plans.start(wait=10)
        for i, account in enumerate(accounts):
            first, *others = mqtt[i:] + mqtt[:i]
            config = file_agent_config(
                account,
                int(first.rsplit(":", 1)[1]),
                signer,
                tmp_path / account.site,
                mqtt_protocol="3.1.1",
                mqtt_fallback_brokers=",".join(others),
                keepalive_s=5,
            )
            agents.append(AgentProcess(config, tmp_path / account.site).start())
        publish_burst(plans, signer, media_server, SITES, tmp_path)
        kill_mid_burst_and_check(db, workers[0], agents, timeout=60)
        for w in workers[1:]:  # the survivors competed for the events: each took some
            w.stop()
            taken = re.findall(r"left NATS queue group 'ingest': (\d+) messages taken", w.log())
            assert taken and int(taken[0]) > 0, w.log()[-2000:]
    finally:
        for agent in agents:
            agent.stop()
        plans.stop()
        for w in workers:
            w.stop()
        engine.dispose()


def test_the_queue_over_tls_as_deployed(tmp_path: Path) -> None:
    """``tls://`` servers, the certificate checked against ``mqtt_ca_file`` (the CA of
    ``broadcaster sites tls-init``), as deploy/nats/nats-server.conf serves port 4222."""
    import asyncio
    import ssl

    import nats

    from broadcaster.broker import free_port
    from broadcaster.nats_queue import NatsQueue
    from broadcaster.provision.tls import make_ca, make_server_cert

    ca_key, ca = make_ca()
    key, cert = make_server_cert(ca_key, ca, ["localhost"])
    for name, data in (("ca.crt", ca), ("server.key", key), ("server.crt", cert)):
        (tmp_path / name).write_bytes(data)
    port, password = free_port(), "a-server-password-0123456789"
    conf = {
        "listen": f"127.0.0.1:{port}",
        "tls": {
            "cert_file": str(tmp_path / "server.crt"),
            "key_file": str(tmp_path / "server.key"),
        },
        "authorization": {"users": [{"user": SERVER_USER, "password": password}]},
    }
    (tmp_path / "nats.conf").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in conf.items()))
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    server = LoggedProcess([binary, "-c", str(tmp_path / "nats.conf")], tmp_path / "nats.log")
    server.start()
    got: list[tuple[str, bytes]] = []
    queue = NatsQueue(
        [f"tls://localhost:{port}"],
        "ingest",
        "loa.v1.sites.*.events",
        lambda topic, payload: got.append((topic, payload)),
        user=SERVER_USER,
        password=password,
        ca_file=str(tmp_path / "ca.crt"),
    )
    try:
        assert queue.start(wait=15)

        async def publish() -> None:
            tls = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
            nc = await nats.connect(
                f"tls://localhost:{port}", user=SERVER_USER, password=password, tls=tls
            )
            await nc.publish("loa.v1.sites.cum-loa-a.events", b'{"seq":1}')
            await nc.flush()
            await nc.close()

        asyncio.run(publish())
        wait_for(lambda: got, 10, "the event through the TLS queue")
        assert got == [("loa/v1/sites/cum-loa-a/events", b'{"seq":1}')]
    finally:
        queue.stop()
        server.stop()
