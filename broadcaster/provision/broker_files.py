"""The broker's files: password files and rules (Mosquitto's ACLs, the agents' and the
server's; NATS's users file in ``nats_files``), the registry of provisioned agents,
certificates, and the Mosquitto configuration that points at them.

A broker reads them as its own user after dropping root (``mosquitto``, ``nats``), so every file
it reads is written ``root:<its group>`` 0640 (when that group exists) and the directory 0750;
keys it does not read (the CA's) stay 0600.
"""

from __future__ import annotations

import grp
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from broadcaster.broker import (
    SERVER_USER,
    AgentAccount,
    BrokerTLS,
    acl_lines,
    general_lines,
    listener_lines,
    server_acl_lines,
)
from broadcaster.wire.files import write_atomic
from broadcaster.wire.topics import Topics

from .base import TLS_PORT, ProvisionError
from .passwords import mosquitto_hash, mosquitto_verify
from .staged import StagedFiles

logger = logging.getLogger(__name__)

BROKER_GROUP = "mosquitto"  # the user Debian's Mosquitto runs as, and its group
READABLE = 0o640  # what the broker reads: owner rw, group (mosquitto, nats) r
DIR_MODE = 0o750
AUTOSAVE_S = 60  # a crash loses at most this much of the broker's state (plans are republished)


def group_id(group: str) -> int | None:
    """``group``'s id, or None where there is none (a developer's machine)."""
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def broker_gid() -> int | None:
    """The ``mosquitto`` group's id, or None where there is none."""
    return group_id(BROKER_GROUP)


def share_with_broker(path: Path, group: str = BROKER_GROUP) -> None:
    """Give ``path`` to ``group`` so the broker can read it after dropping root."""
    gid = group_id(group)
    if gid is None or path.stat().st_gid == gid:
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        raise ProvisionError(
            f"cannot give {path} to group {group}: run the `sites` commands as root "
            f"or as a member of {group}"
        ) from None


def passwd_text(hashes: dict[str, str]) -> str:
    """A password file: ``user:hash`` lines (Mosquitto's format; NATS's users file is made from
    the same lines)."""
    for user, hashed in hashes.items():
        if ":" in user or "\n" in user or "\n" in hashed:
            raise ProvisionError(f"bad user name or hash for {user!r}")
    return "".join(f"{user}:{hashed}\n" for user, hashed in hashes.items())


@dataclass(frozen=True)
class BrokerDir:
    """What every broker's provisioned directory holds: the agents' and the server's password
    files (``user:hash``), the registry of provisioned agents (site → zones), certificates; a
    kind adds its rules (Mosquitto's ACLs, NATS's users file) in ``stage_rules``."""

    root: Path
    kind: ClassVar[str] = ""
    agent_protocol: ClassVar[str] = "5"  # the MQTT version its agents speak
    agent_qos: ClassVar[int] = 1  # the QoS of its agents' subscriptions and events
    group: ClassVar[str] = ""  # the group the broker runs as, which must read the files

    @property
    def passwd(self) -> Path:
        return self.root / "passwd"

    @property
    def server_passwd(self) -> Path:
        """The server listener's users (the server's processes only)."""
        return self.root / "server-passwd"

    @property
    def registry(self) -> Path:
        return self.root / "agents.json"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    @property
    def tls(self) -> bool:
        return self.ca_cert.exists() and self.server_cert.exists() and self.server_key.exists()

    # password hashes: each kind the one its broker checks

    def hash_password(self, password: str) -> str:
        raise NotImplementedError

    def verify_password(self, password: str, hashed: str) -> bool:
        raise NotImplementedError

    # registry of provisioned agents (site → zones)

    def agents(self) -> dict[str, list[str]]:
        if not self.registry.exists():
            return {}
        data = json.loads(self.registry.read_text(encoding="utf-8"))
        return {str(site): [str(z) for z in zones] for site, zones in data.items()}

    def save_agents(self, agents: dict[str, list[str]]) -> None:
        self.write(self.registry, _registry_text(agents))

    def write(self, path: Path, data: bytes | str, mode: int = READABLE) -> None:
        """Write a file the broker reads: atomically, ``mode``, the broker's group."""
        self.ensure_root()
        write_atomic(path, data, mode)
        share_with_broker(path, self.group)

    def stage(self, staged: StagedFiles, path: Path, data: str, mode: int = READABLE) -> None:
        """``write``, but put in place only at ``staged.commit()``."""
        self.ensure_root()
        try:
            staged.add(path, data, mode, gid=group_id(self.group))
        except PermissionError:
            raise ProvisionError(
                f"cannot give {path} to group {self.group}: run the `sites` commands as root "
                f"or as a member of {self.group}"
            ) from None

    def ensure_root(self) -> None:
        """The directory, 0750 and the broker's group (it must be able to enter it)."""
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        if created:
            os.chmod(self.root, DIR_MODE)
        share_with_broker(self.root, self.group)

    # password files

    def hashes(self, path: Path | None = None) -> dict[str, str]:
        """``user → hash`` of the agents' password file (or ``path``), in the file's order."""
        path = path or self.passwd
        if not path.exists():
            return {}
        pairs = (line.split(":", 1) for line in path.read_text().splitlines() if line.strip())
        return {user: hashed for user, hashed in pairs}

    def users(self) -> list[str]:
        """The agents' listener's users."""
        return list(self.hashes())

    def server_users(self) -> list[str]:
        return list(self.hashes(self.server_passwd))

    def set_password(self, user: str, password: str, *, server: bool = False) -> None:
        """Add or replace ``user`` with the hash of ``password`` in the agents' password file
        (``server``: the server's); the plain text never reaches the file."""
        if ":" in user or "\n" in user or "\n" in password:
            raise ProvisionError(f"bad user name or password for {user!r}")
        path = self.server_passwd if server else self.passwd
        hashes = self.hashes(path)
        hashes[user] = self.hash_password(password)
        self.write(path, passwd_text(hashes))

    def remove_user(self, user: str) -> bool:
        hashes = self.hashes()
        if hashes.pop(user, None) is None:
            return False
        self.write(self.passwd, passwd_text(hashes))
        return True

    def write_acl(self, topics: Topics) -> None:
        """The rules again from ``agents.json`` and the password files (after a change)."""
        with StagedFiles() as staged:
            self.stage_rules(staged, topics, self.agents(), self.hashes())
            staged.commit()

    def stage_all(
        self,
        staged: StagedFiles,
        topics: Topics,
        agents: dict[str, list[str]],
        hashes: dict[str, str],
    ) -> None:
        """The agents' password file, the registry and the rules, all for ``staged``."""
        self.stage(staged, self.passwd, passwd_text(hashes))
        self.stage(staged, self.registry, _registry_text(agents))
        self.stage_rules(staged, topics, agents, hashes)

    def stage_rules(
        self,
        staged: StagedFiles,
        topics: Topics,
        agents: dict[str, list[str]],
        hashes: dict[str, str],
    ) -> None:
        raise NotImplementedError


def _registry_text(agents: dict[str, list[str]]) -> str:
    return json.dumps(agents, indent=2, sort_keys=True) + "\n"


HEADER = [
    "# Generated by `broadcaster sites provision`; do not edit by hand.",
    "# Anonymous clients are refused by the listener (allow_anonymous false).",
    "",
]


@dataclass(frozen=True)
class BrokerFiles(BrokerDir):
    """Mosquitto's files (see ``deploy/mosquitto/broadcaster.conf``): the password files
    (``$7$`` hashes, as ``mosquitto_passwd`` makes) and an ACL for each kind of listener."""

    kind: ClassVar[str] = "mosquitto"
    group: ClassVar[str] = BROKER_GROUP

    @property
    def acl(self) -> Path:
        return self.root / "acl"

    @property
    def server_acl(self) -> Path:
        return self.root / "server-acl"

    def hash_password(self, password: str) -> str:
        return mosquitto_hash(password)

    def verify_password(self, password: str, hashed: str) -> bool:
        return mosquitto_verify(password, hashed)

    def stage_rules(
        self,
        staged: StagedFiles,
        topics: Topics,
        agents: dict[str, list[str]],
        hashes: dict[str, str],
    ) -> None:
        """Both ACLs: the agents' from ``agents``, the server's for its users."""
        accounts = [AgentAccount(site, tuple(zones), "") for site, zones in agents.items()]
        self.stage(staged, self.acl, "\n".join(HEADER + acl_lines(topics, accounts)) + "\n")
        server = server_acl_lines(topics, self.server_users() or [SERVER_USER])
        self.stage(staged, self.server_acl, "\n".join(HEADER + server) + "\n")


def mosquitto_conf(
    broker_dir: str | Path,
    *,
    plain_port: int = 1883,
    plain_bind: str = "127.0.0.1",
    tls_port: int | None = TLS_PORT,
    agent_port: int | None = None,
    server_tls_port: int | None = None,
    persistence_dir: str | Path | None = None,
) -> str:
    """The Mosquitto configuration for broadcaster (``deploy/mosquitto/broadcaster.conf`` is
    this with the defaults and ``broker_dir=/etc/mosquitto/broadcaster``): the server's
    listener on ``plain_port``, the Pis' TLS listener on ``tls_port``, and, when given, a plain
    listener for Pis on a trusted network on ``agent_port`` and a TLS listener for server
    processes on other hosts on ``server_tls_port``."""
    d = Path(broker_dir)
    lines = [
        "# Mosquitto for broadcaster: no anonymous access, a password per agent, a per-agent ACL,",
        "# TLS for the Pis, and an agent's client id bound to its username. Generated by",
        "# broadcaster.provision.broker_files.mosquitto_conf; the password, ACL and certificate",
        "# files are written by `broadcaster sites provision` / `sites tls-init`.",
        *general_lines(persistence_dir=persistence_dir, autosave_s=AUTOSAVE_S),
    ]
    if persistence_dir is None:
        lines.append("# (persistence_location: Debian's /etc/mosquitto/mosquitto.conf sets it.)")

    def agents(port: int, bind: str | None, tls: BrokerTLS | None) -> list[str]:
        return listener_lines(port, bind, passwd=d / "passwd", acl=d / "acl", agents=True, tls=tls)

    lines += [
        "",
        "# The server (scheduler, ingest, web) on the same machine: the server's user only, each",
        "# process with a client id of its own.",
        *listener_lines(
            plain_port,
            plain_bind,
            passwd=d / "server-passwd",
            acl=d / "server-acl",
            agents=False,
        ),
    ]
    tls = BrokerTLS(d / "ca.crt", d / "server.crt", d / "server.key")
    if server_tls_port is not None:
        lines += [
            "",
            "# Server processes on other hosts: TLS, the server's user only.",
            *listener_lines(
                server_tls_port,
                None,
                passwd=d / "server-passwd",
                acl=d / "server-acl",
                agents=False,
                tls=tls,
            ),
        ]
    if tls_port is not None:
        lines += [
            "",
            "# The Pis, over the Internet / 3G: TLS only; a client id is its username.",
            *agents(tls_port, None, tls),
        ]
    if agent_port is not None:
        lines += ["", "# Pis on a trusted network, without TLS.", *agents(agent_port, None, None)]
    return "\n".join(lines) + "\n"
