"""Provisioning and the broker's security, against a real Mosquitto configured exactly as
deploy/mosquitto says: no anonymous access, per-agent ACL, TLS with the generated CA."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcaster.agent.agent import Agent
from broadcaster.agent.config import AgentConfig
from broadcaster.broker import SERVER_USER, free_port
from broadcaster.cli import main
from broadcaster.provision.broker_files import BrokerFiles, mosquitto_conf
from broadcaster.wire.plan import Plan
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.support.process import mosquitto

from .conftest import make_plan, wait_for

REPO = Path(__file__).resolve().parents[2]
TOPICS = Topics()
A, B = "cum-loa-a", "cum-loa-b"


def test_deploy_config_is_the_generated_one() -> None:
    expected = mosquitto_conf("/etc/mosquitto/broadcaster")
    assert (REPO / "deploy/mosquitto/broadcaster.conf").read_text() == expected


@dataclass
class Broker:
    dir: Path
    plain_port: int
    tls_port: int
    server_password: str
    bundles: dict[str, Path]
    keys: Signer
    config: Path


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """tls-init + provision two sites with the CLI, then run Mosquitto on those files."""
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        pytest.fail("mosquitto is not installed: run scripts/bootstrap.sh")
    tmp = tmp_path_factory.mktemp("secured")
    broker_dir = tmp / "broker"
    key_file = tmp / "signing-key.pem"
    signer = Signer.generate()
    signer.save(key_file)
    plain_port, tls_port = free_port(), free_port()
    server_password = "server-broker-pw-0123456789"
    config = tmp / "server.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp}/db.sqlite3"\n'
        f'signing_key_file = "{key_file}"\n'
        f'mqtt_host = "localhost"\n'
        f"mqtt_port = {plain_port}\n"
        f'mqtt_username = "{SERVER_USER}"\n'
        f'mqtt_password = "{server_password}"\n'
    )
    _cli(
        config,
        "sites",
        "tls-init",
        "--broker-dir",
        str(broker_dir),
        "--host",
        "localhost",
        "--host",
        "127.0.0.1",
    )
    bundles = {}
    for site, zone in ((A, "thon-1"), (B, "thon-2")):
        out = _cli(
            config,
            "sites",
            "provision",
            site,
            "--zone",
            zone,
            "--out",
            str(tmp / site),
            "--broker-dir",
            str(broker_dir),
            "--broker-host",
            "localhost",
            "--broker-port",
            str(tls_port),
            "--player",
            "file",
        )
        assert f"site {site}: user agent-{site}" in out
        bundles[site] = tmp / site
    conf = broker_dir / "mosquitto.conf"
    text = mosquitto_conf(
        broker_dir, plain_port=plain_port, tls_port=tls_port, persistence_dir=f"{broker_dir}/"
    )
    text += "log_dest stderr\nlog_type error\nlog_type warning\n"
    if os.geteuid() == 0:
        text += "user root\n"
    conf.write_text(text)
    with mosquitto(conf).start() as server:
        server.wait_port(tls_port, 10)
        yield Broker(broker_dir, plain_port, tls_port, server_password, bundles, signer, config)


class Client:
    """A paho MQTT 5 (or 3.1.1) client; records CONNACK, SUBACK and PUBACK reason codes and messages."""

    def __init__(
        self,
        port: int,
        user: str | None = None,
        password: str | None = None,
        ca: Path | None = None,
        client_id: str = "",
        protocol: int = 5,  # or 311: MQTT 3.1.1
    ) -> None:
        version = MQTTProtocolVersion.MQTTv5 if protocol == 5 else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.connack: Any = None
        self.connected = queue.Queue[Any]()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.pubacks: dict[int, Any] = {}
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.put(rc)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(rcs)
        self.client.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc)
        self.port = port

    def connect(self) -> Any:
        self.client.connect("localhost", self.port)
        self.client.loop_start()
        try:
            self.connack = self.connected.get(timeout=5)
        except queue.Empty:
            self.connack = None
        return self.connack

    def subscribe(self, topic: str) -> Any:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=5)[0]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> Any:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        wait_for(lambda: info.mid in self.pubacks, 5, "PUBACK")
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _agent_client(broker: Broker, site: str) -> Client:
    config = AgentConfig.load(broker.bundles[site] / "agent.toml")
    return Client(
        broker.tls_port,
        config.mqtt_username,
        config.mqtt_password,
        ca=broker.bundles[site] / "ca.crt",
    )


def _server(broker: Broker) -> Client:
    server = Client(broker.plain_port, SERVER_USER, broker.server_password)
    assert not server.connect().is_failure
    assert not server.subscribe(f"{TOPICS.root}/#").is_failure
    return server


def _received(client: Client, wait: float = 0.5) -> list[str]:
    """Topics of everything the client receives within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    topics = []
    while time.monotonic() < deadline:
        try:
            topics.append(client.messages.get(timeout=0.05)[0])
        except queue.Empty:
            continue
    return topics


def test_bundle_contents(secured: Broker) -> None:
    bundle = secured.bundles[A]
    assert sorted(p.name for p in bundle.iterdir()) == ["agent.toml", "ca.crt", "trusted-keys.json"]
    assert (bundle / "agent.toml").stat().st_mode & 0o777 == 0o600
    config = AgentConfig.load(bundle / "agent.toml")
    assert config.site == A and config.zones == ("thon-1",)
    assert config.trusted_keys == (secured.keys.public_b64,)
    assert config.mqtt_tls and config.mqtt_ca_file == "/etc/broadcaster-agent/ca.crt"
    assert config.mqtt_username == f"agent-{A}" and len(config.mqtt_password) >= 32
    passwd = (secured.dir / "passwd").read_text()
    assert config.mqtt_password not in passwd  # only the hash
    users = [line.split(":")[0] for line in passwd.splitlines()]
    assert users == [f"agent-{A}", f"agent-{B}"]  # the agents' listener knows agents only
    assert all(line.split(":", 1)[1].startswith("$7$") for line in passwd.splitlines())
    server_passwd = (secured.dir / "server-passwd").read_text()
    assert [line.split(":")[0] for line in server_passwd.splitlines()] == [SERVER_USER]
    assert (
        f"user {SERVER_USER}\ntopic readwrite loa/v1/#" in (secured.dir / "server-acl").read_text()
    )
    acl = (secured.dir / "acl").read_text()
    assert f"user agent-{A}\ntopic read loa/v1/keys\ntopic read loa/v1/sites/{A}/plan" in acl
    assert "topic read loa/v1/zones/thon-1/cmd" in acl
    assert BrokerFiles(secured.dir).agents() == {A: ["thon-1"], B: ["thon-2"]}


def test_anonymous_and_wrong_passwords_are_refused(secured: Broker) -> None:
    for client in (
        Client(secured.plain_port),
        Client(secured.tls_port, ca=secured.dir / "ca.crt"),
        Client(secured.tls_port, f"agent-{A}", "guessed", ca=secured.dir / "ca.crt"),
        Client(secured.plain_port, SERVER_USER, "guessed"),
    ):
        rc = client.connect()
        client.close()
        assert rc is not None and rc.is_failure, rc


def test_tls_needs_the_generated_ca(secured: Broker, tmp_path: Path) -> None:
    from broadcaster.provision.tls import make_ca

    _, other_ca = make_ca("someone else")
    (tmp_path / "other.crt").write_bytes(other_ca)
    for ca, ok in ((tmp_path / "other.crt", False), (secured.dir / "ca.crt", True)):
        context = ssl.create_default_context(cafile=str(ca))
        with socket.create_connection(("localhost", secured.tls_port), timeout=5) as raw:
            if ok:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    assert tls.version() in ("TLSv1.2", "TLSv1.3")
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    context.wrap_socket(raw, server_hostname="localhost").close()
    good = _agent_client(secured, A)
    assert not good.connect().is_failure
    good.close()


def test_an_agent_writes_only_its_own_status_and_events(secured: Broker) -> None:
    server = _server(secured)
    a = _agent_client(secured, A)
    assert not a.connect().is_failure
    try:
        a.publish(TOPICS.events(A), b"mine")
        topic, payload = server.messages.get(timeout=5)
        assert (topic, payload) == (TOPICS.events(A), b"mine")
        forbidden = [
            TOPICS.events(B),
            TOPICS.status(B),
            TOPICS.plan(A),  # not even its own plan
            TOPICS.plan(B),
            TOPICS.site_cmd(B),
            TOPICS.zone_cmd("thon-1"),  # nor a command to its own zone
            TOPICS.ack(A),
            TOPICS.keys(),
        ]
        for topic in forbidden:
            rc = a.publish(topic, b"forged", retain=True)
            assert rc.is_failure, f"{topic}: {rc}"  # MQTT 5: "not authorized"
        assert _received(server) == []
    finally:
        a.close()
        server.close()


def test_an_agent_reads_only_its_own_site_and_zones(secured: Broker) -> None:
    a = _agent_client(secured, A)
    assert not a.connect().is_failure
    try:
        for topic in (
            TOPICS.plan(A),
            TOPICS.site_cmd(A),
            TOPICS.ack(A),
            TOPICS.keys(),
            TOPICS.zone_cmd("thon-1"),
        ):
            assert not a.subscribe(topic).is_failure, topic
        for topic in (
            TOPICS.plan(B),
            TOPICS.zone_cmd("thon-2"),
            TOPICS.events(B),
            TOPICS.all_events(),
            f"{TOPICS.root}/#",
        ):
            a.subscribe(topic)  # Mosquitto 2.0 grants it but delivers nothing the ACL denies
        server = _server(secured)
        server.publish(TOPICS.plan(B), b"plan for b", retain=False)
        server.publish(TOPICS.zone_cmd("thon-2"), b"cmd for thon-2")
        server.publish(TOPICS.zone_cmd("thon-1"), b"cmd for thon-1")
        topic, payload = a.messages.get(timeout=5)
        assert (topic, payload) == (TOPICS.zone_cmd("thon-1"), b"cmd for thon-1")
        time.sleep(0.3)
        leaked = []
        while not a.messages.empty():
            leaked.append(a.messages.get())
        assert all(t in (TOPICS.zone_cmd("thon-1"),) for t, _ in leaked), leaked
        server.close()
    finally:
        a.close()


def test_a_real_agent_runs_from_its_bundle_over_tls(secured: Broker, tmp_path: Path) -> None:
    bundle = AgentConfig.load(secured.bundles[B] / "agent.toml")
    config = bundle.replace(
        state_dir=str(tmp_path / "state"),
        output_dir=str(tmp_path / "out"),
        mqtt_ca_file=str(secured.bundles[B] / "ca.crt"),
    )
    server = _server(secured)
    agent = Agent(config)
    agent.start()
    try:
        wait_for(lambda: agent.link is not None and agent.link.connected.is_set(), 10, "TLS link")
        plan: Plan = make_plan(3, [], site=B)
        server.publish(TOPICS.plan(B), secured.keys.sign(plan.to_dict()), retain=True)
        wait_for(lambda: agent.store.plan_version() == 3, 10)
    finally:
        agent.stop()
        server.close()


def test_revoke_removes_the_user_and_its_acl(secured: Broker, tmp_path: Path) -> None:
    copy = tmp_path / "broker"
    shutil.copytree(secured.dir, copy)
    _cli(secured.config, "sites", "revoke", A, "--broker-dir", str(copy))
    files = BrokerFiles(copy)
    assert f"agent-{A}" not in files.users() and A not in files.agents()
    assert f"agent-{A}" not in (copy / "acl").read_text()
