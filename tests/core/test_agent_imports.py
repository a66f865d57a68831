"""The Pi agent stays small: it imports only the standard library, paho, cryptography, click and
broadcaster's own agent-side modules (agent, wire, clock, mqtt, exit statuses, the CLI's root)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

THIRD_PARTY = {"paho", "cryptography", "click"}
# Native modules that cryptography loads as top-level names (its Rust bindings, cffi's backend).
NATIVE = {"_cffi_backend", "_openssl"}
# cryptography's SSH key module imports bcrypt when it is installed: the server's extra has it
# (NATS passwords), a Pi does not; the agent's own code never imports it.
OPTIONAL = {"bcrypt"}
AGENT_SIDE = (
    "broadcaster.agent",
    "broadcaster.wire",
    "broadcaster.clock",
    "broadcaster.mqtt",
    "broadcaster.exit_status",
    "broadcaster.signals",
)
# `broadcaster agent` goes through the CLI's root and its agent module only.
CLI_SIDE = ("broadcaster.cli", "broadcaster.cli.agent")

PROBE = """
import sys
before = set(sys.modules)
{code}
print("--- imported ---", *sorted(set(sys.modules) - before))
"""

ENTRY_POINTS = {
    "agent main": "import broadcaster.agent.main",
    "broadcaster agent": (
        "import click\n"
        "from broadcaster.cli import main\n"
        "command = main.get_command(click.Context(main), 'agent')\n"
        "import broadcaster.agent.main\n"
        "try:\n"
        "    command.main(['--help'], standalone_mode=True)\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    ),
}


def _imported_by(code: str) -> list[str]:
    """Modules that ``code`` imports, in a fresh interpreter (so no test has loaded them)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("--- imported ---")[-1].split()


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top in THIRD_PARTY | NATIVE | OPTIONAL:
        return True
    if name == "broadcaster" or name in CLI_SIDE:
        return True
    return any(name == m or name.startswith(m + ".") for m in AGENT_SIDE)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_the_agent_imports_only_what_a_pi_installs(entry: str) -> None:
    imported = _imported_by(ENTRY_POINTS[entry])
    assert "broadcaster.agent.agent" in imported  # the probe did load the agent
    assert [name for name in imported if not _allowed(name)] == []


def test_the_check_would_catch_a_server_import() -> None:
    imported = _imported_by("import broadcaster.agent.main\nimport sqlalchemy")
    assert "sqlalchemy" in [name for name in imported if not _allowed(name)]
