"""`broadcaster users add`, `users password` and `users contact`."""

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
@click.option(
    "--unit",
    "unit_code",
    default="",
    help="Code of the unit the role applies to (and below); default: the only top unit.",
)
@click.password_option()
@click.pass_context
def users_add(
    ctx: click.Context,
    username: str,
    role: str,
    display_name: str,
    unit_code: str,
    password: str,
) -> None:
    """Create a user."""
    from broadcaster.accounts import AccountError, create_user
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.models import UnitPlacementError
    from broadcaster.units import UnitError, by_code

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    try:
        with transaction(session_factory(make_engine(settings.database_url))) as session:
            unit = by_code(session, unit_code) if unit_code else None
            create_user(session, username, password, role, display_name, unit)
    except (AccountError, UnitError, UnitPlacementError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {username} ({role}) created")


@users.command("password")
@click.argument("username")
@click.password_option()
@click.pass_context
def users_password(ctx: click.Context, username: str, password: str) -> None:
    """Set a user's password; every web session of theirs ends."""
    from sqlalchemy import select

    from broadcaster.accounts import AccountError, set_password
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.models import User

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    try:
        with transaction(session_factory(make_engine(settings.database_url))) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise AccountError(f"no user {username!r}")
            set_password(session, user, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {username} changed; their web sessions ended")


@users.command("contact")
@click.argument("username")
@click.option("--email", default=None, help='Where workflow notices are e-mailed ("" clears it).')
@click.option("--phone", default=None, help="For an SMS gateway on the notices' webhook.")
@click.pass_context
def users_contact(ctx: click.Context, username: str, email: str | None, phone: str | None) -> None:
    """Set where a user hears of announcements waiting for them or rejected."""
    from sqlalchemy import select

    from broadcaster.accounts import AccountError, set_contact
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.models import User

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    try:
        with transaction(session_factory(make_engine(settings.database_url))) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise AccountError(f"no user {username!r}")
            set_contact(session, user, email, phone)
            shown = f"e-mail {user.email or '—'}, phone {user.phone or '—'}"
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username}: {shown}")
