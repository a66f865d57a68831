"""The broker's files: password files and ACLs (the agents' and the server's), registry of
provisioned agents, certificates, and the Mosquitto configuration that points at them.

Mosquitto reads them as the ``mosquitto`` user after dropping root, so every file it reads is
written ``root:mosquitto`` 0640 (group ``mosquitto`` when that group exists) and the directory
0750; keys it does not read (the CA's) stay 0600.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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

logger = logging.getLogger(__name__)

BROKER_GROUP = "mosquitto"  # the user Debian's Mosquitto runs as, and its group
READABLE = 0o640  # what Mosquitto reads: owner rw, group mosquitto r
DIR_MODE = 0o750
AUTOSAVE_S = 60  # a crash loses at most this much of the broker's state (plans are republished)


def broker_gid() -> int | None:
    """The ``mosquitto`` group's id, or None where there is none (a developer's machine)."""
    try:
        return grp.getgrnam(BROKER_GROUP).gr_gid
    except KeyError:
        return None


def share_with_broker(path: Path) -> None:
    """Give ``path`` to the group ``mosquitto`` so the broker can read it after dropping root."""
    gid = broker_gid()
    if gid is None or path.stat().st_gid == gid:
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        raise ProvisionError(
            f"cannot give {path} to group {BROKER_GROUP}: run the `sites` commands as root "
            f"or as a member of {BROKER_GROUP}"
        ) from None


@dataclass(frozen=True)
class BrokerFiles:
    """The files Mosquitto reads (see ``deploy/mosquitto/broadcaster.conf``)."""

    root: Path

    @property
    def passwd(self) -> Path:
        return self.root / "passwd"

    @property
    def acl(self) -> Path:
        return self.root / "acl"

    @property
    def server_passwd(self) -> Path:
        """The server listener's users (the server's processes only)."""
        return self.root / "server-passwd"

    @property
    def server_acl(self) -> Path:
        return self.root / "server-acl"

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

    # registry of provisioned agents (site → zones)

    def agents(self) -> dict[str, list[str]]:
        if not self.registry.exists():
            return {}
        data = json.loads(self.registry.read_text(encoding="utf-8"))
        return {str(site): [str(z) for z in zones] for site, zones in data.items()}

    def save_agents(self, agents: dict[str, list[str]]) -> None:
        self.write(self.registry, json.dumps(agents, indent=2, sort_keys=True) + "\n")

    def write(self, path: Path, data: bytes | str, mode: int = READABLE) -> None:
        """Write a file Mosquitto reads: atomically, ``mode``, group ``mosquitto``."""
        self.ensure_root()
        write_atomic(path, data, mode)
        share_with_broker(path)

    def ensure_root(self) -> None:
        """The directory, 0750 and group ``mosquitto`` (it must be able to enter it)."""
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        if created:
            os.chmod(self.root, DIR_MODE)
        share_with_broker(self.root)

    # passwords (hashed by mosquitto_passwd) and the ACLs

    def _passwd_lines(self, path: Path | None = None) -> list[str]:
        path = path or self.passwd
        if not path.exists():
            return []
        return [line for line in path.read_text().splitlines() if line.strip()]

    def users(self) -> list[str]:
        """The agents' listener's users."""
        return [line.split(":", 1)[0] for line in self._passwd_lines()]

    def server_users(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self._passwd_lines(self.server_passwd)]

    def set_password(self, user: str, password: str, *, server: bool = False) -> None:
        """Add or replace ``user`` with the hash of ``password`` in the agents' password file
        (``server``: the server listener's); the plain text never lands in the password file
        (it is hashed in a private temp file by ``mosquitto_passwd -U``)."""
        if ":" in user or "\n" in user or "\n" in password:
            raise ProvisionError(f"bad user name or password for {user!r}")
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        if not Path(tool).exists():
            raise ProvisionError("mosquitto_passwd not found (install mosquitto)")
        self.ensure_root()
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            plain = Path(tmp) / "one"
            fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{user}:{password}\n")
            result = subprocess.run([tool, "-U", str(plain)], capture_output=True, check=False)
            if result.returncode != 0:
                raise ProvisionError(f"mosquitto_passwd failed: {result.stderr.decode()[-300:]}")
            hashed = plain.read_text().strip()
        path = self.server_passwd if server else self.passwd
        lines = [line for line in self._passwd_lines(path) if line.split(":", 1)[0] != user]
        self.write(path, "\n".join([*lines, hashed]) + "\n")

    def remove_user(self, user: str) -> bool:
        lines = self._passwd_lines()
        kept = [line for line in lines if line.split(":", 1)[0] != user]
        if len(kept) == len(lines):
            return False
        self.write(self.passwd, "\n".join(kept) + ("\n" if kept else ""))
        return True

    def write_acl(self, topics: Topics) -> None:
        """Both ACLs: the agents' from ``agents.json``, the server's for its users."""
        accounts = [AgentAccount(site, tuple(zones), "") for site, zones in self.agents().items()]
        header = [
            "# Generated by `broadcaster sites provision`; do not edit by hand.",
            "# Anonymous clients are refused by the listener (allow_anonymous false).",
            "",
        ]
        self.write(self.acl, "\n".join(header + acl_lines(topics, accounts)) + "\n")
        server = server_acl_lines(topics, self.server_users() or [SERVER_USER])
        self.write(self.server_acl, "\n".join(header + server) + "\n")


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
