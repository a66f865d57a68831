"""`broadcaster db upgrade`."""

from __future__ import annotations

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
