"""A private Mosquitto: generated config, per-agent passwords and ACL, and its process.

Used by ``broadcaster demo`` and by the test suite; production brokers are configured from
``deploy/mosquitto`` with the same rules (``listener_lines``, ``acl_lines``).

Two kinds of listener (``per_listener_settings true``), each with its own password file and ACL
(docs/decisions.md, issue 10): the agents' listener binds the client id to the username
(``use_username_as_clientid``), so a stolen password speaks only as its own site and cannot take
another site's session over; the server's listener knows only the server's user, whose processes
choose their own client ids (unique ones, and ``broadcaster-ingest-<worker>``).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

SERVER_USER = "server"
# Broker-wide limits (general options: they apply to every client).
# The largest message any peer accepts (4 MiB, docs/protocol.md §12) with its topic and header;
# the broker disconnects a client sending a bigger packet.
MAX_PACKET_BYTES = 4 * 1024 * 1024 + 4096
MAX_INFLIGHT = 20  # QoS 1 messages in flight per client (MQTT 5: the receive maximum)
MAX_QUEUED = 200_000  # per session: ingest's must hold a province's burst while it restarts
MAX_QUEUED_BYTES = 256 * 1024 * 1024  # and no session's queue grows past this


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
    """The agents' listener's ACL: an agent reads only its own site's and zones' server topics
    and writes only its own status and events."""
    lines: list[str] = []
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


def server_acl_lines(topics: Topics, users: Iterable[str] = (SERVER_USER,)) -> list[str]:
    """The server's listener's ACL: its users read and write everything under the root."""
    lines: list[str] = []
    for user in users:
        lines += [f"user {user}", f"topic readwrite {topics.root}/#", ""]
    return lines


def general_lines(
    *, persistence_dir: str | Path | None, autosave_s: int, persistence: bool = True
) -> list[str]:
    """Options for the whole broker: limits, session expiry, persistence (``persistence_dir``
    None: where the main mosquitto.conf puts it)."""
    lines = [
        "per_listener_settings true",
        "# Limits per client. The ingest session must hold a whole province burst (2,000 sites",
        "# × several events) while ingest restarts; agents resend what is dropped, but later.",
        f"max_packet_size {MAX_PACKET_BYTES}",
        f"max_inflight_messages {MAX_INFLIGHT}",
        f"max_queued_messages {MAX_QUEUED}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        "# MQTT 3.1.1 sessions have no expiry of their own (MQTT 5 clients ask for 7 days):",
        "# forget a persistent session after a week without its client.",
        "persistent_client_expiration 7d",
        "# Sessions, queued and retained messages survive a restart (and a crash, up to the",
        "# last autosave; the scheduler republishes plans the broker lost: docs/protocol.md).",
        f"persistence {'true' if persistence else 'false'}",
        f"autosave_interval {autosave_s}",
    ]
    if persistence and persistence_dir is not None:
        lines.append(f"persistence_location {persistence_dir}")
    return lines


def listener_lines(
    port: int,
    bind: str | None,
    *,
    passwd: str | Path,
    acl: str | Path,
    agents: bool,
    tls: BrokerTLS | None = None,
) -> list[str]:
    """One listener with its own users and ACL. ``agents``: the client id is the username, so a
    client cannot take over another one's session (Mosquitto 2's ``use_username_as_clientid``)."""
    lines = [
        f"listener {port}{f' {bind}' if bind else ''}",
        "allow_anonymous false",
        f"password_file {passwd}",
        f"acl_file {acl}",
    ]
    if agents:
        lines.append("use_username_as_clientid true")
    if tls is not None:
        lines += [
            f"cafile {tls.ca_file}",
            f"certfile {tls.cert_file}",
            f"keyfile {tls.key_file}",
            "tls_version tlsv1.2",
        ]
        if tls.require_certificate:
            lines.append("require_certificate true")
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
    """A Mosquitto process on free loopback ports with its own config, passwords and ACLs: the
    agents' listener on ``port`` (client id = username), the server's on ``server_port``; with
    ``tls``, a TLS listener of each kind on ``tls_port`` and ``server_tls_port``.

    ``persistence=False`` makes a broker that forgets everything when it stops (a fault test's
    "the broker lost its retained state")."""

    workdir: Path
    topics: Topics = field(default_factory=Topics)
    agents: list[AgentAccount] = field(default_factory=list)
    port: int = 0
    server_port: int = 0
    server_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    process: subprocess.Popen[bytes] | None = None
    tls: BrokerTLS | None = None
    tls_port: int = 0
    server_tls_port: int = 0
    persistence: bool = True
    autosave_s: int = 2

    def add_agent(self, site: str, zones: Iterable[str]) -> AgentAccount:
        account = AgentAccount(site, tuple(zones), secrets.token_urlsafe(16))
        self.agents.append(account)
        return account

    def server_mqtt(self, *, tls: bool = False) -> dict[str, Any]:
        """The server's ``mqtt_*`` settings for this broker (``Settings.replace(**...)``); the
        ports are chosen now if ``start`` has not chosen them yet."""
        self._choose_ports()
        return {
            "mqtt_port": self.server_tls_port if tls else self.server_port,
            "mqtt_username": SERVER_USER,
            "mqtt_password": self.server_password,
        }

    def _choose_ports(self) -> None:
        self.port = self.port or free_port()
        self.server_port = self.server_port or free_port()
        if self.tls is not None:
            self.tls_port = self.tls_port or free_port()
            self.server_tls_port = self.server_tls_port or free_port()

    def _write_users(self, path: Path, users: list[tuple[str, str]]) -> None:
        path.write_text("".join(f"{u}:{p}\n" for u, p in users))
        path.chmod(0o600)
        if not users:
            return  # mosquitto_passwd refuses an empty file; Mosquitto takes it
        mosquitto_passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        subprocess.run([mosquitto_passwd, "-U", str(path)], check=True, capture_output=True)

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._choose_ports()
        passwd, acl = self.workdir / "passwd", self.workdir / "acl"
        server_passwd, server_acl = self.workdir / "server-passwd", self.workdir / "server-acl"
        self._write_users(passwd, [(a.username, a.password) for a in self.agents])
        self._write_users(server_passwd, [(SERVER_USER, self.server_password)])
        for path, lines in (
            (acl, acl_lines(self.topics, self.agents)),
            (server_acl, server_acl_lines(self.topics)),
        ):
            path.write_text("\n".join(lines) + "\n")
            path.chmod(0o600)
        lines = general_lines(
            persistence_dir=f"{self.workdir}/",
            autosave_s=self.autosave_s,
            persistence=self.persistence,
        )
        lines += ["log_dest stderr", "log_type error", "log_type warning"]
        if os.geteuid() == 0:
            lines.append("user root")  # keep access to our private files

        def agents(port: int, tls: BrokerTLS | None = None) -> list[str]:
            return listener_lines(port, "127.0.0.1", passwd=passwd, acl=acl, agents=True, tls=tls)

        def server(port: int, tls: BrokerTLS | None = None) -> list[str]:
            return listener_lines(
                port, "127.0.0.1", passwd=server_passwd, acl=server_acl, agents=False, tls=tls
            )

        lines += agents(self.port) + server(self.server_port)
        if self.tls is not None:
            lines += agents(self.tls_port, self.tls) + server(self.server_tls_port, self.tls)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def agents_listener(self, bind: str, port: int | None = None) -> list[str]:
        """Another agents' listener (same users, ACL and client-id rule) on ``bind``, e.g. the
        server end of a test's network link; ``port`` defaults to the agents' port."""
        return listener_lines(
            port or self.port,
            bind,
            passwd=self.workdir / "passwd",
            acl=self.workdir / "acl",
            agents=True,
        )

    def start(self, timeout: float = 10.0) -> None:
        conf = self.write_config()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        waiting = [self.port, self.server_port]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.process.returncode}; "
                    f"see {self.workdir / 'mosquitto.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.05)
            if not waiting:
                logger.info(
                    "mosquitto listening on 127.0.0.1:%d (agents), :%d (server)",
                    self.port,
                    self.server_port,
                )
                return
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
        """Stop and start again on the same ports (for fault tests)."""
        self.stop()
        self.start()

    def reload(self) -> None:
        """Rewrite the passwords and ACLs (after ``add_agent``) and have Mosquitto re-read them
        (SIGHUP): nobody is disconnected."""
        assert self.process is not None, "start() first"
        self.write_config()
        self.process.send_signal(signal.SIGHUP)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class BrokerWatch:
    """Restarts a ``PrivateBroker`` whose process died (the demo's supervision): checks every
    ``interval_s``; a broker stopped through ``stop()`` is left alone."""

    broker: PrivateBroker
    interval_s: float = 1.0
    restarts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="broker-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    def check(self) -> bool:
        """Restart the broker if its process exited; True if it did."""
        process = self.broker.process
        if process is None or process.poll() is None:
            return False
        logger.warning(
            "mosquitto exited with %s; restarting it on the same ports", process.returncode
        )
        self.broker.process = None
        self.broker.start()
        self.restarts += 1
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # the next round tries again
                logger.exception("restarting mosquitto failed; will retry")
