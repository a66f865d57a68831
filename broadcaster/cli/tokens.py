"""`broadcaster tokens add NAME`, `tokens list`, `tokens revoke ID`."""

from __future__ import annotations

import click


@click.group()
def tokens() -> None:
    """API tokens for other systems: make one (shown once), list, revoke."""


@tokens.command("add")
@click.argument("name")
@click.option(
    "--unit",
    "unit_code",
    default="",
    help="Code of the unit it reads (and below); default: the top unit.",
)
@click.pass_context
def tokens_add(ctx: click.Context, name: str, unit_code: str) -> None:
    """Make a token and print it (the one time it is shown)."""
    from sqlalchemy import select

    from broadcaster import api_tokens
    from broadcaster.clock import SYSTEM_CLOCK
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.models import Unit
    from broadcaster.units import UnitError, by_code

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    try:
        with transaction(session_factory(make_engine(settings.database_url))) as session:
            if unit_code:
                unit = by_code(session, unit_code)
            else:
                tops = session.scalars(select(Unit).where(Unit.parent_id.is_(None))).all()
                if len(tops) != 1:
                    raise UnitError("name the unit with --unit CODE")
                unit = tops[0]
            token, secret = api_tokens.issue(session, name, unit, None, SYSTEM_CLOCK.now())
            made = f"token {token.id} ({token.name}) reads {unit.name} and below:"
    except (UnitError, api_tokens.TokenError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(made, err=True)
    click.echo(secret)


@tokens.command("list")
@click.pass_context
def tokens_list(ctx: click.Context) -> None:
    """Every token: id, name, unit, made, last used, revoked."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from broadcaster.db import make_engine, session_factory, upgrade
    from broadcaster.models import ApiToken

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    with session_factory(make_engine(settings.database_url))() as session:
        rows = session.scalars(
            select(ApiToken).options(selectinload(ApiToken.unit)).order_by(ApiToken.id)
        ).all()
        for t in rows:
            used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
            state = (
                f"revoked {t.revoked_at.isoformat(timespec='minutes')}" if t.revoked_at else "live"
            )
            click.echo(
                f"{t.id}\t{t.name}\t{t.unit.code}\tmade {t.created_at.isoformat(timespec='minutes')}\tused {used}\t{state}"
            )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke token TOKEN_ID: it reads nothing from now on."""
    from broadcaster import api_tokens
    from broadcaster.clock import SYSTEM_CLOCK
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.models import ApiToken

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    with transaction(session_factory(make_engine(settings.database_url))) as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise click.ClickException(f"no token {token_id}")
        api_tokens.revoke(session, token, SYSTEM_CLOCK.now())
    click.echo(f"token {token_id} revoked")
