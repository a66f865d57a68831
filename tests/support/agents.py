"""Real agent subprocesses for integration tests: a file-player agent config and the process
(``python -m broadcaster.agent``) that runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import AgentAccount
from broadcaster.wire.signing import Signer

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def file_agent_config(
    account: AgentAccount,
    port: int,
    signer: Signer,
    workdir: Path,
    zones: tuple[str, ...] = ("thon-1",),
    **overrides: Any,
) -> AgentConfig:
    """An agent for ``account``'s site on the broker at ``port``, trusting ``signer``, that
    writes what it plays as WAV files under ``workdir/out``."""
    fields: dict[str, Any] = {
        "site": account.site,
        "zones": list(zones),
        "mqtt_port": port,
        "mqtt_username": account.username,
        "mqtt_password": account.password,
        "trusted_keys": [signer.public_b64],
        "state_dir": str(workdir / "agent-state"),
        "player": "file",
        "output_dir": str(workdir / "out"),
        "keepalive_s": 10,
    }
    return AgentConfig(**{**fields, **overrides})


class AgentProcess:
    """``python -m broadcaster.agent --config FILE`` with stderr captured to a file; ``prefix``
    runs it through another command (``ip netns exec NAME``, tests/support/netns.py)."""

    def __init__(self, config: AgentConfig, workdir: Path, prefix: Sequence[str] = ()) -> None:
        self.config = config
        self.prefix = list(prefix)
        self.config_path = workdir / "agent.toml"
        self.log_path = workdir / "agent.log"
        config.dump(self.config_path)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "broadcaster.agent"]
                + ["--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=REPO,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float = 10.0) -> None:
        wait_for(lambda: text in self.log(), timeout, f"{text!r} in the agent log")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def wavs(self) -> list[Path]:
        out = Path(self.config.output_dir)
        return sorted(out.glob("*.wav")) if out.exists() else []
