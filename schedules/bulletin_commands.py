"""CLI: `broadcaster bulletins list|show`: the bulletins sent down the tree and, per commune,
what became of them (the sender's view of the web page, for every unit)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from broadcaster.exit_status import ExitStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from broadcaster.config import Settings


@click.group()
def bulletins() -> None:
    """Bulletins sent down to communes (Thông tư 39/2020's classes) and their state."""


@contextmanager
def _session(ctx: click.Context) -> Iterator[tuple[Settings, Session]]:
    """The configuration and a session on its (migrated) database, closed afterwards."""
    from broadcaster.db import make_engine, session_factory, upgrade

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            yield settings, session
    finally:
        engine.dispose()


@bulletins.command("list")
@click.option("--limit", default=50, show_default=True, help="The newest this many.")
@click.pass_context
def bulletins_list(ctx: click.Context, limit: int) -> None:
    """One line per bulletin: id, class, status, sender, title, and its communes' states."""
    from collections import Counter

    from sqlalchemy import select

    from broadcaster.models import Bulletin

    with _session(ctx) as (_settings, session):
        rows = session.scalars(select(Bulletin).order_by(Bulletin.id.desc()).limit(limit))
        for b in rows:
            states = Counter(d.state for d in b.deliveries)
            counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
            click.echo(
                f"{b.id:>5}  {b.priority:<9} {b.status:<9} {b.unit.code:<8} {b.title}  [{counts}]"
            )


@bulletins.command("show")
@click.argument("bulletin_id", type=int)
@click.pass_context
def bulletins_show(ctx: click.Context, bulletin_id: int) -> None:
    """Each commune: state, who decided and when (the reason), scheduled for, aired, coverage."""
    from broadcaster.models import Bulletin
    from schedules.bulletin_status import commune_status
    from schedules.recurrence import to_local

    def local(t: datetime | None) -> str:
        return to_local(t, settings.timezone).strftime("%Y-%m-%d %H:%M") if t else "-"

    with _session(ctx) as (settings, session):
        b = session.get(Bulletin, bulletin_id)
        if b is None:
            click.echo(f"no bulletin {bulletin_id}", err=True)
            sys.exit(ExitStatus.FAILURE)
        click.echo(f"{b.title} ({b.priority}, {b.status}) from {b.unit.name}")
        for r in commune_status(session, b, settings.timezone):
            d = r.delivery
            who = f"{d.decided_by.username} {local(d.decided_at)}" if d.decided_by else "-"
            coverage = f"{r.coverage:.0%}" if r.coverage is not None else "-"
            reason = f"  ({d.reason})" if d.reason else ""
            click.echo(
                f"  {d.unit.code:<8} {d.state:<9} by {who:<28} scheduled {local(r.scheduled_for)}"
                f"  aired {r.aired}/{r.sites}  coverage {coverage}{reason}"
            )
