"""`broadcaster demo`: server, private Mosquitto and simulated agents on one machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Run headless: air one announcement and a bulletin of each class, verify, exit.",
)
@click.option(
    "--dir",
    "workdir",
    default="demo-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database, broker, agents and WAV files (wiped at start).",
)
@click.option("--port", default=8080, show_default=True, help="Web port (next free one if taken).")
@click.pass_context
def demo(ctx: click.Context, check: bool, workdir: Path, port: int) -> None:
    """Everything on one machine: server, private Mosquitto, a simulated agent per site."""
    from broadcaster.demo import run_demo

    sys.exit(run_demo(workdir=workdir, check=check, port=port, config=ctx.obj.settings))
