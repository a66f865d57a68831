"""Icecast 2.4 for live sessions: its configuration, the listeners' password file, and a
private server (tests, benchmarks, the demo) on a free port.

Every mount requires a listener login (``<mount type="default">`` with htpasswd
authentication): the user is the live session's id, the password its token. The server adds a
line when a session starts and removes it when the session ends; Icecast reads the file again
when its modification time changes, which counts whole seconds, so every rewrite moves the
mtime strictly forward (two sessions started in the same second are both seen).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from broadcaster.wire.files import write_atomic

logger = logging.getLogger(__name__)

ICECAST_USER = "icecast2"  # Debian's package; Icecast refuses to run as root without it
ICECAST_GROUP = "icecast"


@dataclass(frozen=True)
class IcecastConfig:
    """What our generated ``icecast.xml`` needs."""

    port: int
    source_password: str
    admin_password: str
    listeners_file: Path
    log_dir: Path
    bind: str = "127.0.0.1"
    hostname: str = "127.0.0.1"
    # A source silent this long is dropped, which ends every listener's stream.
    source_timeout_s: int = 10
    max_listeners: int = 5000
    change_owner: bool = False  # when started as root


def icecast_xml(cfg: IcecastConfig) -> str:
    """Icecast's configuration: no burst on connect (a listener starts at the live edge, so
    the delay is the network's, not a 64 KB backlog), every mount behind the listeners' file."""
    owner = (
        f"<changeowner><user>{ICECAST_USER}</user><group>{ICECAST_GROUP}</group></changeowner>"
        if cfg.change_owner
        else ""
    )
    e = escape
    return f"""<icecast>
  <location>broadcaster</location>
  <admin>root@localhost</admin>
  <limits>
    <clients>{cfg.max_listeners + 100}</clients>
    <sources>200</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>{cfg.source_timeout_s}</source-timeout>
    <burst-on-connect>0</burst-on-connect>
    <burst-size>0</burst-size>
  </limits>
  <authentication>
    <source-password>{e(cfg.source_password)}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>{e(cfg.admin_password)}</admin-password>
  </authentication>
  <hostname>{e(cfg.hostname)}</hostname>
  <listen-socket>
    <port>{cfg.port}</port>
    <bind-address>{e(cfg.bind)}</bind-address>
  </listen-socket>
  <mount type="default">
    <authentication type="htpasswd">
      <option name="filename" value="{e(str(cfg.listeners_file))}"/>
      <option name="allow_duplicate_users" value="1"/>
    </authentication>
  </mount>
  <fileserve>0</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>{e(str(cfg.log_dir))}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging>
    <accesslog>-</accesslog>
    <errorlog>-</errorlog>
    <loglevel>2</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
    {owner}
  </security>
</icecast>
"""


class ListenerPasswords:
    """The htpasswd file Icecast checks listeners against: ``<session>:<md5 hex of token>``.

    Thread-safe within one process; the web process is its only writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._last_mtime = 0

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return {}
        out = {}
        for line in text.splitlines():
            user, sep, digest = line.partition(":")
            if sep:
                out[user] = digest
        return out

    def _write(self, users: dict[str, str]) -> None:
        data = "".join(f"{u}:{d}\n" for u, d in sorted(users.items())).encode("ascii")
        write_atomic(self.path, data, mode=0o644, durable=False)
        stamp = max(int(time.time()), self._last_mtime + 1)
        os.utime(self.path, (stamp, stamp))
        self._last_mtime = stamp

    def allow(self, session: str, token: str) -> None:
        # Icecast's own htpasswd format: an unsalted MD5 of the password. The token is 128
        # random bits used once, for one session, and the file is readable only by the server
        # and Icecast.
        digest = hashlib.md5(token.encode(), usedforsecurity=False).hexdigest()  # noqa: S324
        with self._lock:
            users = self._read()
            users[session] = digest
            self._write(users)

    def revoke(self, session: str) -> None:
        with self._lock:
            users = self._read()
            if users.pop(session, None) is not None:
                self._write(users)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _PortTaken(RuntimeError):
    """Icecast could not bind the port it was given."""


class PrivateIcecast:
    """Debian's icecast2 on a free loopback port with a generated config (tests, bench, demo).

    Its files live in a directory of its own under the system temp dir (readable by the
    ``icecast2`` user it switches to when started as root), removed by :meth:`stop`."""

    def __init__(self, source_timeout_s: int = 10) -> None:
        self.source_timeout_s = source_timeout_s
        self.port = 0
        self.source_password = ""
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.listeners: ListenerPasswords | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("icecast2") or (
            "/usr/bin/icecast2" if Path("/usr/bin/icecast2").exists() else None
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0, tries: int = 3) -> None:
        """Start on a free port; another process taking the port first (a race between
        choosing and binding it) costs a try on another port."""
        for attempt in range(tries):
            try:
                self._start_once(timeout)
                return
            except _PortTaken:
                logger.warning("icecast2 could not bind its port; try %d of %d", attempt + 1, tries)
                self.stop()
        raise RuntimeError(f"icecast2 could not bind a free port in {tries} tries")

    def _start_once(self, timeout: float) -> None:
        binary = self.binary()
        if binary is None:
            raise RuntimeError("icecast2 is not installed: run scripts/bootstrap.sh")
        import secrets

        self.workdir = Path(tempfile.mkdtemp(prefix="broadcaster-icecast-"))
        as_root = os.geteuid() == 0
        if as_root:
            user = pwd.getpwnam(ICECAST_USER)
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
        self.workdir.chmod(0o755)
        self.port = free_port()
        self.source_password = secrets.token_urlsafe(16)
        listeners = self.workdir / "listeners"
        self.listeners = ListenerPasswords(listeners)
        self.listeners._write({})
        conf = IcecastConfig(
            port=self.port,
            source_password=self.source_password,
            admin_password=secrets.token_urlsafe(16),
            listeners_file=listeners,
            log_dir=self.workdir,
            source_timeout_s=self.source_timeout_s,
            change_owner=as_root,
        )
        path = self.workdir / "icecast.xml"
        path.write_text(icecast_xml(conf), encoding="utf-8")
        log = open(self.workdir / "icecast.log", "ab")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(
            [binary, "-c", str(path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "Could not create listener socket" in self.log():
                    raise _PortTaken()
                raise RuntimeError(f"icecast2 exited with {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            # the port answers; but it could be another process's, and then icecast2 exits
            # at once ("Could not create listener socket")
            time.sleep(0.3)
            if self.process.poll() is None:
                logger.info("icecast2 listening on 127.0.0.1:%d", self.port)
                return
        self.stop()
        raise RuntimeError(f"icecast2 did not listen on port {self.port} within {timeout}s")

    def log(self) -> str:
        if self.workdir is None:
            return ""
        try:
            return (self.workdir / "icecast.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def source_url(self, mount: str) -> str:
        """Where a source (ffmpeg's icecast protocol) publishes ``mount``."""
        return f"icecast://source:{self.source_password}@127.0.0.1:{self.port}{mount}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
