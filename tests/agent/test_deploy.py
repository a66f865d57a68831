"""deploy/pi: the systemd unit, install.sh, and the agent's sd_notify watchdog protocol."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from broadcaster.agent.config import AgentConfig
from broadcaster.agent.sdnotify import notify, watchdog_interval_s
from broadcaster.broker import free_port
from broadcaster.wire.signing import Signer
from tests.support.agents import REPO, AgentProcess

UNIT = REPO / "deploy/pi/broadcaster-agent.service"
INSTALL = REPO / "deploy/pi/install.sh"


def _unit_settings() -> dict[str, str]:
    settings = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
    return settings


def test_unit_runs_unprivileged_with_a_watchdog() -> None:
    unit = _unit_settings()
    assert unit["Type"] == "notify" and unit["NotifyAccess"] == "main"
    assert unit["User"] == "broadcaster-agent" and unit["Group"] == "broadcaster-agent"
    assert int(unit["WatchdogSec"]) > 0 and unit["Restart"] == "always"
    assert unit["NoNewPrivileges"] == "yes" and unit["CapabilityBoundingSet"] == ""
    assert unit["ProtectSystem"] == "strict" and unit["StateDirectory"] == "broadcaster-agent"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    python = os.path.realpath(shutil.which("python3") or "/usr/bin/python3")
    unit = tmp_path / "broadcaster-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/broadcaster-agent/venv/bin/python", python))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_install_script_lays_out_a_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    AgentConfig(
        site="cum-loa-t1",
        state_dir="/var/lib/broadcaster-agent",
        trusted_keys=[Signer.generate().public_b64],
        mqtt_password="secret",
    ).dump(bundle / "agent.toml")
    (bundle / "trusted-keys.json").write_text("{}\n")
    (bundle / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    root = tmp_path / "root"
    result = subprocess.run(
        ["bash", str(INSTALL), "--no-system", "--no-venv", str(bundle)],
        env={**os.environ, "ROOT": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    etc = root / "etc/broadcaster-agent"
    assert (etc / "agent.toml").read_text() == (bundle / "agent.toml").read_text()
    assert (etc / "agent.toml").stat().st_mode & 0o777 == 0o640
    assert etc.stat().st_mode & 0o777 == 0o750
    assert (etc / "ca.crt").exists() and (etc / "trusted-keys.json").exists()
    assert (root / "etc/systemd/system/broadcaster-agent.service").read_text() == UNIT.read_text()
    assert (root / "var/lib/broadcaster-agent").is_dir()
    assert (root / "opt/broadcaster-agent/docs/protocol.md").exists()


def test_install_script_refuses_a_folder_without_a_bundle(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--no-system", "--no-venv", str(tmp_path)],
        env={**os.environ, "ROOT": str(tmp_path / "root")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "agent.toml not found" in result.stderr


def test_notify_helpers(tmp_path: Path) -> None:
    assert notify("READY=1", env={}) is False
    path = str(tmp_path / "n.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        assert notify("READY=1", env={"NOTIFY_SOCKET": path})
        assert sock.recv(100) == b"READY=1"
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({}) is None


def test_agent_notifies_ready_pings_the_watchdog_and_says_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # ping every 0.5 s
    config = AgentConfig(
        site="cum-loa-t1",
        state_dir=str(tmp_path / "state"),
        trusted_keys=[Signer.generate().public_b64],
        mqtt_port=free_port(),  # no broker: the agent must be healthy offline too
        player="file",
        output_dir=str(tmp_path / "out"),
    )
    agent = AgentProcess(config, tmp_path)
    agent.start()
    try:
        messages = [sock.recv(200).decode()]
        assert messages[0].startswith("READY=1")
        began = time.monotonic()
        pings = 0
        while pings < 3:
            if sock.recv(200) == b"WATCHDOG=1":
                pings += 1
        assert time.monotonic() - began < 5
    finally:
        assert agent.stop() == 0
    while (last := sock.recv(200)) == b"WATCHDOG=1":
        pass
    assert last == b"STOPPING=1"
    sock.close()
