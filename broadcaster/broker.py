"""A private Mosquitto: generated config, per-agent passwords and ACL, and its process.

Used by ``broadcaster demo`` and by the test suite; production brokers are configured from
``deploy/mosquitto`` with the same ACL rules (``acl_lines``).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

SERVER_USER = "server"


def agent_username(site: str) -> str:
    return f"agent-{site}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class AgentAccount:
    site: str
    zones: tuple[str, ...]
    password: str

    @property
    def username(self) -> str:
        return agent_username(self.site)


def acl_lines(topics: Topics, agents: Iterable[AgentAccount]) -> list[str]:
    """Mosquitto ACL: the server may do anything under the root; an agent reads only its own
    site's and zones' server topics and writes only its own status and events."""
    lines = [f"user {SERVER_USER}", f"topic readwrite {topics.root}/#", ""]
    for a in agents:
        lines += [
            f"user {a.username}",
            f"topic read {topics.keys()}",
            f"topic read {topics.plan(a.site)}",
            f"topic read {topics.site_cmd(a.site)}",
            f"topic read {topics.ack(a.site)}",
            *(f"topic read {topics.zone_cmd(z)}" for z in a.zones),
            f"topic write {topics.status(a.site)}",
            f"topic write {topics.events(a.site)}",
            "",
        ]
    return lines


@dataclass(frozen=True)
class BrokerTLS:
    """A TLS listener's files; with ``require_certificate`` clients must present a certificate
    signed by ``ca_file`` (besides their username and password)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = False


@dataclass
class PrivateBroker:
    """A Mosquitto process on a free loopback port with its own config, passwords and ACL;
    with ``tls``, a second, TLS listener on ``tls_port``."""

    workdir: Path
    topics: Topics = field(default_factory=Topics)
    agents: list[AgentAccount] = field(default_factory=list)
    port: int = 0
    server_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    process: subprocess.Popen[bytes] | None = None
    tls: BrokerTLS | None = None
    tls_port: int = 0

    def add_agent(self, site: str, zones: Iterable[str]) -> AgentAccount:
        account = AgentAccount(site, tuple(zones), secrets.token_urlsafe(16))
        self.agents.append(account)
        return account

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        passwd = self.workdir / "passwd"
        acl = self.workdir / "acl"
        users = [(SERVER_USER, self.server_password)] + [
            (a.username, a.password) for a in self.agents
        ]
        passwd.write_text("".join(f"{u}:{p}\n" for u, p in users))
        passwd.chmod(0o600)
        mosquitto_passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        subprocess.run([mosquitto_passwd, "-U", str(passwd)], check=True, capture_output=True)
        acl.write_text("\n".join(acl_lines(self.topics, self.agents)))
        acl.chmod(0o600)
        conf = self.workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {acl}",
            "persistence true",
            f"persistence_location {self.workdir}/",
            "max_queued_messages 10000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if self.tls is not None:
            if not self.tls_port:
                self.tls_port = free_port()
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                "tls_version tlsv1.2",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
            ]
        if os.geteuid() == 0:
            lines.append("user root")  # keep access to our private files
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, timeout: float = 10.0) -> None:
        conf = self.write_config()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.process.returncode}; "
                    f"see {self.workdir / 'mosquitto.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    logger.info("mosquitto listening on 127.0.0.1:%d", self.port)
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port (for fault tests)."""
        self.stop()
        self.start()
