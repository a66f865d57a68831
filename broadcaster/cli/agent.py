"""`broadcaster agent`: run the Pi agent. Imports only what the agent needs (see
tests/core/test_agent_imports.py)."""

from __future__ import annotations

import sys

import click


@click.command()
# A missing or unreadable file is a bad configuration (exit 3), as for `python -m broadcaster.agent`.
@click.option("--config", "agent_config", required=True, type=click.Path(dir_okay=False))
def agent(agent_config: str) -> None:
    """Run the Pi agent with its own config file."""
    from broadcaster.agent.main import run

    sys.exit(run(agent_config))
