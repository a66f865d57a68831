"""NATS's provisioned files: one users file that every node of the cluster includes.

``users.conf`` holds NATS's ``authorization`` block: the server's user (anything under the
topic root) and one user per agent with ``nats_permissions`` (the same rules as Mosquitto's
ACL: an agent publishes only its own status and events and subscribes only to its own site's
and zones' server topics and the keys). Passwords are bcrypt hashes (what ``nats-server``
checks); the ``passwd`` and ``server-passwd`` files keep them between runs in Mosquitto's
``user:hash`` form, and ``agents.json`` the sites' zones, as for Mosquitto.

Each node's config says ``include "/etc/nats/broadcaster/users.conf"`` (deploy/nats/); the
nodes re-read it on SIGHUP (``systemctl reload nats-server``).

NATS 2.9 cannot bind an MQTT client id to its username (Mosquitto's
``use_username_as_clientid``): an agent with valid credentials could connect with another
site's client id and take that session over, but still reads and writes only its own topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from broadcaster.broker import AgentAccount, agent_username
from broadcaster.nats_cluster import (
    AGENT_CONNECTION_TYPES,
    nats_permissions,
    server_permissions,
    users_conf,
)
from broadcaster.wire.topics import Topics

from .base import ProvisionError
from .broker_files import BrokerDir
from .passwords import bcrypt_hash, bcrypt_verify
from .staged import StagedFiles

NATS_GROUP = "nats"  # the user Debian's nats-server runs as, and its group


@dataclass(frozen=True)
class NatsFiles(BrokerDir):
    kind: ClassVar[str] = "nats"
    agent_protocol: ClassVar[str] = "3.1.1"  # NATS 2.9's MQTT has no MQTT 5
    # No JetStream consumer per subscription, no stored event (docs/decisions.md, "NATS: agents
    # at QoS 0")
    agent_qos: ClassVar[int] = 0
    group: ClassVar[str] = NATS_GROUP

    @property
    def users_file(self) -> Path:
        return self.root / "users.conf"

    def hash_password(self, password: str) -> str:
        return bcrypt_hash(password)

    def verify_password(self, password: str, hashed: str) -> bool:
        return bcrypt_verify(password, hashed)

    def stage_rules(
        self,
        staged: StagedFiles,
        topics: Topics,
        agents: dict[str, list[str]],
        hashes: dict[str, str],
    ) -> None:
        server = self.hashes(self.server_passwd)
        if not server:
            raise ProvisionError(
                f"no server user in {self.server_passwd}: set mqtt_username and mqtt_password "
                "in the server's settings (the NATS users file must hold the server's user)"
            )
        users = [
            {"user": user, "password": hashed, "permissions": server_permissions(topics)}
            for user, hashed in server.items()
        ]
        for site, zones in agents.items():
            username = agent_username(site)
            if username not in hashes:
                raise ProvisionError(f"site {site} has no password hash in {self.passwd}")
            account = AgentAccount(site, tuple(zones), "")
            users.append(
                {
                    "user": username,
                    "password": hashes[username],
                    "permissions": nats_permissions(topics, account),
                    "allowed_connection_types": AGENT_CONNECTION_TYPES,
                }
            )
        self.stage(staged, self.users_file, users_conf(users))
