"""A private NATS cluster speaking MQTT 3.1.1: three ``nats-server`` nodes with JetStream (where
NATS keeps MQTT sessions, QoS 1 messages and retained plans, replicated on every node), on free
loopback ports, with generated configs, passwords and per-agent permissions.

For tests and a province's evaluation; a production cluster's users take the same permissions
(``nats_permissions``). Mosquitto (``broadcaster.broker``) stays the default broker of a single
commune. See docs/decisions.md, "A clustered broker: NATS".
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcaster.broker import SERVER_USER, AgentAccount, free_port
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

CLUSTER_NAME = "broadcaster"
# NATS delivers an MQTT session's QoS 1 messages through JetStream consumers on subjects under
# $MQTT.sub; a subscriber needs to be allowed those (an MQTT client cannot subscribe to them by
# topic: "$MQTT/sub/#" is refused like any topic outside its permissions).
MQTT_DELIVERY = "$MQTT.sub.>"


def subject(topic: str) -> str:
    """The NATS subject of an MQTT topic or filter: levels joined by dots, + is *, # is >."""
    return ".".join({"+": "*", "#": ">"}.get(level, level) for level in topic.split("/"))


def nats_permissions(topics: Topics, agent: AgentAccount) -> dict[str, Any]:
    """An agent's permissions, the same rules as Mosquitto's ACL (``broker.acl_lines``): it
    reads its own site's and zones' server topics and the keys, and writes only its own status
    and events."""
    reads = [
        topics.keys(),
        topics.plan(agent.site),
        topics.site_cmd(agent.site),
        topics.ack(agent.site),
        *(topics.zone_cmd(z) for z in agent.zones),
    ]
    writes = [topics.status(agent.site), topics.events(agent.site)]
    return {
        "publish": {"allow": [subject(t) for t in writes]},
        "subscribe": {"allow": [*(subject(t) for t in reads), MQTT_DELIVERY]},
    }


@dataclass
class NatsNode:
    name: str
    client_port: int
    cluster_port: int
    mqtt_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class NatsCluster:
    """``size`` nats-server nodes in one cluster, each with an MQTT listener on ``mqtt_port``
    of its node; the server user may do anything under the topic root, each agent only what
    ``nats_permissions`` allows."""

    workdir: Path
    topics: Topics = field(default_factory=Topics)
    size: int = 3
    agents: list[AgentAccount] = field(default_factory=list)
    server_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nodes: list[NatsNode] = field(default_factory=list)

    def add_agent(self, site: str, zones: Iterable[str]) -> AgentAccount:
        account = AgentAccount(site, tuple(zones), secrets.token_urlsafe(16))
        self.agents.append(account)
        return account

    @property
    def mqtt_addresses(self) -> list[str]:
        return [f"127.0.0.1:{n.mqtt_port}" for n in self.nodes]

    def users(self) -> list[dict[str, Any]]:
        server = {
            "user": SERVER_USER,
            "password": self.server_password,
            "permissions": {
                "publish": {"allow": [subject(self.topics.root) + ".>"]},
                "subscribe": {"allow": [subject(self.topics.root) + ".>", MQTT_DELIVERY]},
            },
        }
        agents = [
            {
                "user": a.username,
                "password": a.password,
                "permissions": nats_permissions(self.topics, a),
            }
            for a in self.agents
        ]
        return [server, *agents]

    def write_configs(self) -> list[Path]:
        if not self.nodes:
            self.nodes = [
                NatsNode(f"n{i + 1}", free_port(), free_port(), free_port())
                for i in range(self.size)
            ]
        routes = [f"nats-route://127.0.0.1:{n.cluster_port}" for n in self.nodes]
        paths = []
        for node in self.nodes:
            home = self.workdir / node.name
            home.mkdir(parents=True, exist_ok=True)
            # NATS configs accept JSON values; json.dumps quotes and escapes every string.
            conf = {
                "server_name": node.name,
                "listen": f"127.0.0.1:{node.client_port}",
                "jetstream": {"store_dir": str(home / "jetstream")},
                "cluster": {
                    "name": CLUSTER_NAME,
                    "listen": f"127.0.0.1:{node.cluster_port}",
                    "routes": routes,
                },
                "mqtt": {"listen": f"127.0.0.1:{node.mqtt_port}"},
                "authorization": {"users": self.users()},
            }
            path = home / "nats.conf"
            path.write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
            path.chmod(0o600)
            paths.append(path)
        return paths

    def start(self, timeout: float = 30.0) -> None:
        """Start every node and wait until the cluster takes MQTT sessions (JetStream has a
        meta leader and MQTT's streams exist)."""
        self.write_configs()
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready(timeout)

    def start_node(self, node: NatsNode) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        home = self.workdir / node.name
        log = open(home / "nats.log", "ab")  # noqa: SIM115 (lives with the process)
        node.process = subprocess.Popen(
            [binary, "-c", str(home / "nats.conf")], stdout=log, stderr=log
        )
        log.close()

    def wait_ready(self, timeout: float) -> None:
        """Until a QoS 1 publish through every running node is acknowledged."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if not node.running:
                continue
            while True:
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited; see {self.log(node)}")
                client = mqtt.Client(
                    CallbackAPIVersion.VERSION2,
                    client_id=f"probe-{secrets.token_hex(4)}",
                    protocol=MQTTProtocolVersion.MQTTv311,
                )
                client.username_pw_set(SERVER_USER, self.server_password)
                try:
                    client.connect("127.0.0.1", node.mqtt_port, keepalive=10)
                    client.loop_start()
                    info = client.publish(f"{self.topics.root}/probe", b"", qos=1)
                    info.wait_for_publish(3)
                    ok = info.is_published()
                except (OSError, ValueError, RuntimeError):
                    ok = False
                finally:
                    client.disconnect()
                    client.loop_stop()
                if ok:
                    break
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"NATS cluster not ready in {timeout}s; see {self.workdir}")
                time.sleep(0.5)
        logger.info("NATS cluster ready: MQTT on %s", ", ".join(self.mqtt_addresses))

    def log(self, node: NatsNode) -> Path:
        return self.workdir / node.name / "nats.log"

    def node_at(self, address: str) -> NatsNode:
        """The node whose MQTT listener is ``host:port``."""
        return next(n for n in self.nodes if address.endswith(f":{n.mqtt_port}"))

    def kill(self, node: NatsNode) -> None:
        """SIGKILL one node (a fault test's node failure)."""
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
            node.process = None
