"""Real agent subprocesses for integration tests: a file-player agent config and the process
(``python -m broadcaster.agent``) that runs it."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Collection, Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import AgentAccount
from broadcaster.models import Site
from broadcaster.wire.signing import Signer
from tests.support.process import REPO, LoggedProcess, wait_for

__all__ = [
    "REPO",
    "AgentProcess",
    "file_agent_config",
    "start_file_agents",
    "wait_for",
    "wait_online",
]


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


def start_file_agents(
    accounts: Iterable[AgentAccount], port: int, signer: Signer, workdir: Path
) -> list[AgentProcess]:
    """A started file-player agent (``file_agent_config``) per account, on the broker's agents'
    ``port``, each in ``workdir/agents/SITE``; none left running if one fails to start."""
    agents: list[AgentProcess] = []
    try:
        for account in accounts:
            base = workdir / "agents" / account.site
            base.mkdir(parents=True)
            agent = AgentProcess(file_agent_config(account, port, signer, base), base)
            agents.append(agent)
            agent.start()
    except BaseException:
        for agent in agents:
            agent.stop()
        raise
    return agents


def wait_online(db: sessionmaker[Session], sites: Collection[str], timeout: float = 20.0) -> None:
    """Wait until every site in ``sites`` is online in the database (its agent's retained
    status, through ingest)."""

    def online() -> bool:
        with db() as s:
            states = s.scalars(select(Site.state).where(Site.id.in_(sites))).all()
            return len(states) == len(sites) and all(state == "online" for state in states)

    wait_for(online, timeout, f"{', '.join(sites)} online")


class AgentProcess(LoggedProcess):
    """``python -m broadcaster.agent --config FILE`` with its output in ``workdir/agent.log``;
    ``prefix`` runs it through another command (``ip netns exec NAME``, tests/support/netns.py)."""

    stop_timeout = 10.0

    def __init__(self, config: AgentConfig, workdir: Path, prefix: Sequence[str] = ()) -> None:
        self.config = config
        self.config_path = workdir / "agent.toml"
        config.dump(self.config_path)
        args = [*prefix, sys.executable, "-m", "broadcaster.agent", "--config"]
        args.append(str(self.config_path))
        super().__init__(args, workdir / "agent.log", env={**os.environ, "PYTHONPATH": str(REPO)})

    def outbox(self) -> tuple[int, int]:
        """(events the server has not acknowledged yet, the last seq the agent used), read
        from its state database (read-only, while it runs)."""
        path = Path(self.config.state_dir) / "agent.sqlite3"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
            left = int(c.execute("SELECT count(*) FROM outbox").fetchone()[0])
            next_seq = int(c.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])
        return left, next_seq - 1

    def wavs(self) -> list[Path]:
        out = Path(self.config.output_dir)
        return sorted(out.glob("*.wav")) if out.exists() else []
