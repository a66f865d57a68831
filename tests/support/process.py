"""The lifecycle the tests' subprocesses share (agents, ingest workers, schedulers, gunicorn,
nginx): start with the output in a log file, wait for a line of that log or for a port, stop with
SIGTERM (SIGKILL after a grace period), or kill with SIGKILL (no clean exit, no MQTT DISCONNECT).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` until it is truthy (its value), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without BROADCASTER_* settings, with this worktree first on the path
    (the venv's editable install may point at another checkout), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def server_env(workdir: Path, **settings: object) -> dict[str, str]:
    """``clean_env`` for a ``broadcaster`` server process (ingest, scheduler, web): its media
    folder and signing key file under ``workdir``, a session key, and ``settings`` by their
    Settings names (``database_url=...``, ``**broker.server_mqtt()``)."""
    env = {
        "BROADCASTER_MEDIA_DIR": str(workdir / "media"),
        "BROADCASTER_SIGNING_KEY_FILE": str(workdir / "signing-key.pem"),
        "BROADCASTER_SECRET_KEY": "a-test-secret-key-long-enough-to-pass-checks-0123456789",
    }
    env.update({f"BROADCASTER_{name.upper()}": str(value) for name, value in settings.items()})
    return clean_env(**env)


def mosquitto(conf: Path) -> LoggedProcess:
    """Mosquitto on the config file ``conf`` (not started yet), its output in ``conf``'s name
    with ``.log``; for the tests of deploy files (a PrivateBroker writes its own config)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return LoggedProcess([binary, "-c", str(conf)], conf.with_suffix(".log"))


def cli_args(*args: str) -> list[str]:
    """The command line of ``broadcaster ARGS`` from this worktree."""
    return [sys.executable, "-m", "broadcaster.cli", *args]


class LoggedProcess:
    """A subprocess whose stdout and stderr go to ``log_path`` (appended to: a restart keeps
    the earlier runs' lines). ``start`` may be called again after ``stop`` or ``kill``; as a
    context manager (``with LoggedProcess(...).start() as p:``) it is stopped at the end."""

    stop_timeout = 15.0  # seconds between SIGTERM and SIGKILL

    def __init__(
        self,
        args: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.env = dict(env) if env is not None else clean_env()
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LoggedProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
            )
        return self

    def __enter__(self) -> LoggedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, text: str, timeout: float = 10.0) -> float:
        """Wait until ``text`` is in the log; the seconds it took. Fails at once when the
        process has exited without writing it."""
        start = time.monotonic()
        while text not in self.log():
            if not self.running() and text not in self.log():
                raise AssertionError(f"{text!r} not in the log, exited:\n{self.log()[-4000:]}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{text!r} not in the log after {timeout} s:\n{self.log()}")
            time.sleep(0.05)
        return time.monotonic() - start

    def wait_port(self, port: int, timeout: float = 20.0) -> None:
        """Wait until something listens on 127.0.0.1:``port``; fails at once if the process
        exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = None if self.proc is None else self.proc.returncode
                raise AssertionError(f"exited with {code}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nothing listens on {port} after {timeout} s:\n{self.log()}")

    def wait(self, timeout: float) -> int:
        """The exit code once the process exits by itself (TimeoutExpired after ``timeout``)."""
        assert self.proc is not None, "not started"
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL and reap: no clean exit (the broker publishes its last will)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``stop_timeout``; the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
