"""`broadcaster db upgrade`, `broadcaster db prune`."""

from __future__ import annotations

from datetime import UTC, timedelta

import click


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations up to the newest schema."""
    from broadcaster.db import upgrade

    upgrade(ctx.obj.settings.database_url)
    click.echo("database is up to date")


@db.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    help="Keep this many days (default: rejected_messages_keep_days).",
)
@click.pass_context
def db_prune(ctx: click.Context, dry_run: bool, keep_days: int | None) -> None:
    """Delete rows kept only for a while: ingest's refused messages past their days."""
    from broadcaster.db import make_engine, session_factory, upgrade
    from broadcaster.retention import prune_rejected

    settings = ctx.obj.settings
    days = keep_days or settings.rejected_messages_keep_days
    if not days:
        click.echo("refused messages: kept for ever (rejected_messages_keep_days = 0)")
        return
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        report = prune_rejected(
            session_factory(engine), ctx.obj.clock.now(), timedelta(days=days), dry_run=dry_run
        )
    finally:
        engine.dispose()
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in report.by_reason.items())
    verb = "would be deleted" if dry_run else "deleted"
    cutoff = report.cutoff.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    click.echo(
        f"refused messages: {report.deleted:,} {verb}, received before {cutoff} "
        f"(kept {days} days){': ' + reasons if reasons else ''}"
        + (" [dry run: nothing deleted]" if dry_run else "")
    )
