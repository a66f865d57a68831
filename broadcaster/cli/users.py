"""`broadcaster users add`."""

from __future__ import annotations

import click

from broadcaster.roles import ROLES


@click.group()
def users() -> None:
    """User accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "display_name", default="")
@click.password_option()
@click.pass_context
def users_add(
    ctx: click.Context, username: str, role: str, display_name: str, password: str
) -> None:
    """Create a user."""
    from broadcaster.accounts import AccountError, create_user
    from broadcaster.db import make_engine, session_factory, transaction, upgrade

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    try:
        with transaction(session_factory(make_engine(settings.database_url))) as session:
            create_user(session, username, password, role, display_name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {username} ({role}) created")
