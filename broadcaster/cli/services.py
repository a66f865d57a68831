"""`broadcaster serve|web|scheduler|ingest`: run the server's parts until SIGINT/SIGTERM."""

from __future__ import annotations

import sys

import click


def _run_parts(ctx: click.Context, names: list[str]) -> None:
    from broadcaster.config import ConfigError
    from broadcaster.exit_status import ExitStatus
    from broadcaster.processes import run_until_signalled

    settings = ctx.obj.settings  # placeholder or short secrets are refused here (exit 3)
    if "web" in names:
        try:
            settings.require_web_secret()
        except ConfigError as exc:
            click.echo(f"configuration error: {exc}", err=True)
            sys.exit(ExitStatus.CONFIG)
    sys.exit(run_until_signalled(settings, names))


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run web, scheduler and ingest in one process (one commune, SQLite)."""
    _run_parts(ctx, ["scheduler", "alerts", "ingest", "web"])


@click.command()
@click.pass_context
def web(ctx: click.Context) -> None:
    """Run the web UI and API only."""
    _run_parts(ctx, ["web"])


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler and site-health alerts (exactly one per installation)."""
    _run_parts(ctx, ["scheduler", "alerts"])


@click.command()
@click.pass_context
def ingest(ctx: click.Context) -> None:
    """Run event ingest."""
    _run_parts(ctx, ["ingest"])
