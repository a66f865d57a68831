"""`broadcaster reports rebuild|refresh`: the reports' daily roll-ups."""

from __future__ import annotations

from datetime import date, timedelta

import click

CHUNK_DAYS = 31  # days recomputed per transaction


@click.group()
def reports() -> None:
    """The reports' daily roll-ups: rebuild them from the playback log, or catch up."""


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@reports.command("rebuild")
@click.option("--from", "start", callback=_day, help="First local day (YYYY-MM-DD).")
@click.option("--to", "end", callback=_day, help="Last local day (YYYY-MM-DD).")
@click.pass_context
def reports_rebuild(ctx: click.Context, start: date | None, end: date | None) -> None:
    """Recompute the roll-ups of every day from --from to --to (default: the whole log)."""
    from broadcaster import rollups
    from broadcaster.db import make_engine, session_factory, transaction, upgrade

    settings = ctx.obj.settings
    tz = settings.timezone
    if start and end and start > end:
        raise click.BadParameter("--from is after --to")
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    try:
        whole = start is None and end is None
        with factory() as session:
            first, last = rollups.log_days(session, tz)
        lo, hi = start or first, end or last
        days = 0
        if whole or lo is None or hi is None:  # rows outside the log go too
            with transaction(factory) as session:
                rollups.clear(session, lo, hi)
        while lo is not None and hi is not None and lo <= hi:
            upto = min(hi, lo + timedelta(days=CHUNK_DAYS - 1))
            with transaction(factory) as session:
                days += rollups.rebuild(session, tz, lo, upto)
            lo = upto + timedelta(days=1)
    finally:
        engine.dispose()
    click.echo(f"report roll-ups rebuilt: {days} days")


@reports.command("refresh")
@click.pass_context
def reports_refresh(ctx: click.Context) -> None:
    """Recompute the days changed since the last refresh (what the scheduler does)."""
    from broadcaster import rollups
    from broadcaster.db import make_engine, session_factory, transaction, upgrade

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            done = rollups.refresh(session, settings.timezone)
    finally:
        engine.dispose()
    click.echo(f"report roll-ups refreshed: {done} (unit, day) recomputed")
