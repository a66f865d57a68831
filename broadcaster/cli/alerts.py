"""`broadcaster alerts check [--every N]`."""

from __future__ import annotations

import click

from broadcaster.alerts import Notifier, Thresholds, check


@click.group("alerts")
def alerts() -> None:
    """Site health alerts (offline, repeated failures, stale plan, clock drift)."""


@alerts.command("check")
@click.option("--every", type=float, default=0.0, help="Repeat every N seconds (0: once).")
@click.pass_context
def check_command(ctx: click.Context, every: float) -> None:
    """Compute alerts, record them, and notify new and cleared ones (webhook, e-mail)."""
    import time

    from broadcaster.db import make_engine, session_factory

    settings = ctx.obj.settings
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    thresholds, notifier = Thresholds.from_settings(settings), Notifier.from_settings(settings)
    try:
        while True:
            changes = check(factory, thresholds, notifier, ctx.obj.clock.now())
            click.echo(f"{len(changes.raised)} raised, {len(changes.cleared)} cleared")
            if every <= 0:
                break
            time.sleep(every)
    finally:
        engine.dispose()
