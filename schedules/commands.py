"""CLI: `broadcaster plan` (a site's materialized plan), `broadcaster plans republish` and
`broadcaster programme import|export`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from broadcaster.exit_status import ExitStatus


def _session(ctx: click.Context):  # type: ignore[no-untyped-def]
    from broadcaster.db import make_engine, session_factory, upgrade

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    return settings, session_factory(make_engine(settings.database_url))


def _when(value: str | None, default: datetime, tz: str) -> datetime:
    if value is None:
        return default
    from schedules.recurrence import to_utc

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use ISO time, e.g. 2026-12-01T06:00") from None
    return dt.astimezone(UTC) if dt.tzinfo else to_utc(dt, tz)


@click.command("plan")
@click.option("--site", "site_id", required=True, help="Site id, e.g. dai-xa.")
@click.option(
    "--from", "start", help="Local time (commune timezone) or ISO with offset; default now."
)
@click.option("--to", "end", help="Default: the plan horizon after --from.")
@click.option("--json", "as_json", is_flag=True, help="The wire items as JSON.")
@click.pass_context
def plan(
    ctx: click.Context, site_id: str, start: str | None, end: str | None, as_json: bool
) -> None:
    """Print a site's materialized plan (local times), with clashes and relays."""
    from broadcaster.models import Site
    from schedules.planner import site_plans, to_plan_items
    from schedules.recurrence import to_local

    settings, factory = _session(ctx)
    tz = settings.timezone
    t0 = _when(start, ctx.obj.clock.now(), tz)
    t1 = _when(end, t0 + timedelta(hours=settings.plan_horizon_hours), tz)
    with factory() as session:
        if session.get(Site, site_id) is None:
            click.echo(f"unknown site {site_id!r}", err=True)
            sys.exit(ExitStatus.FAILURE)
        sp = site_plans(session, t0, t1, tz=tz, site_ids=[site_id])[site_id]
        items = to_plan_items(sp.placed, settings.public_url, sp.relays, since=t0)
        if as_json:
            click.echo(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
            return
        click.echo(
            f"{site_id}: {len(sp.placed)} airings, {len(items) - len(sp.placed)} relay items from {to_local(t0, tz):%Y-%m-%d %H:%M} to "
            f"{to_local(t1, tz):%Y-%m-%d %H:%M} ({tz})"
        )
        rows = [
            (
                p.start,
                f"{p.candidate.priority:9} {p.candidate.payload.announcement.title} "
                f"[{p.candidate.key}] {p.candidate.duration.total_seconds():.0f}s",
            )
            for p in sp.placed
        ]
        rows += [
            (r.start, f"relay     {r.relay.name} until {to_local(r.end, tz):%H:%M}")
            for r in sp.relays
        ]
        for when, text in sorted(rows, key=lambda r: r[0]):
            click.echo(f"  {to_local(when, tz):%a %d/%m %H:%M:%S}  {text}")
        for c in sp.clashes:
            where = f"moved to {to_local(c.placed_at, tz):%H:%M:%S}" if c.placed_at else "NOT AIRED"
            click.echo(
                f"  ! {c.kind} {c.key} at {to_local(c.nominal, tz):%d/%m %H:%M}: {where}"
                f" (blocked by {', '.join(c.blocked_by) or '-'})"
            )


@click.group("plans")
def plans() -> None:
    """The plans published to the sites: send them again."""


@plans.command("republish")
@click.option("--site", "sites", multiple=True, help="Only this site (repeat).")
@click.option("--commune", "communes", multiple=True, help="Only this commune's sites (repeat).")
@click.pass_context
def plans_republish(ctx: click.Context, sites: tuple[str, ...], communes: tuple[str, ...]) -> None:
    """Publish every site's plan again, changed or not (e.g. to a new broker)."""
    from sqlalchemy import select

    from broadcaster.keys import following_signer
    from broadcaster.models import Site
    from broadcaster.mqtt import Link, PublishError, unique_client_id
    from broadcaster.plans_mark import PlansMark
    from broadcaster.publish import PlanPublisher
    from broadcaster.units import named_subtree
    from broadcaster.wire.topics import Topics
    from schedules.runtime import SchedulerRuntime

    settings, factory = _session(ctx)
    site_ids: list[str] | None = None
    if sites or communes:
        with factory() as session:
            known = set(session.scalars(select(Site.id)))
            unknown = sorted(set(sites) - known)
            if unknown:
                raise click.ClickException(f"unknown site {', '.join(unknown)}")
            chosen = set(sites)
            for commune in communes:
                found = set(
                    session.scalars(select(Site.id).where(Site.unit_id.in_(named_subtree(commune))))
                )
                if not found:
                    raise click.ClickException(f"no site in commune {commune!r}")
                chosen |= found
            site_ids = sorted(chosen)
    topics = Topics(settings.topic_root)
    link = Link(settings.mqtt_options(), unique_client_id("republish"))
    mark = PlansMark(link, topics)
    try:
        if not link.start(wait=10):
            raise click.ClickException(f"MQTT broker {settings.mqtt_options().where} not reachable")
        publisher = PlanPublisher(
            signer=following_signer(settings.signing_key_file),
            publisher=link,
            topics=topics,
            horizon=timedelta(hours=settings.plan_horizon_hours),
        )
        runtime = SchedulerRuntime(settings, factory, publisher, ctx.obj.clock, mark=mark)
        published = runtime.republish(site_ids)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        link.stop()
    for site_id, version in sorted(published.items()):
        click.echo(f"{site_id}: plan v{version}")
    click.echo(f"republished {len(published)} plans")


@click.group("programme")
def programme() -> None:
    """A commune's set-up in YAML: zones, sites, slots, relays, campaigns, recurring items."""


@programme.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option(
    "--author", default=None, help="Username that owns imported items (default: first admin)."
)
@click.option(
    "--with-users", is_flag=True, help="Also create the users listed in FILE (demos, tests)."
)
@click.pass_context
def programme_import(
    ctx: click.Context, file: Path, dry_run: bool, author: str | None, with_users: bool
) -> None:
    """Validate FILE and bring the database to it (items arrive as drafts)."""
    from sqlalchemy import select

    from audio.renderer import make_renderer
    from broadcaster.models import User
    from schedules.programme_file import ProgrammeFileError, load
    from schedules.programme_import import ProgrammeImportError, apply

    try:
        prog = load(file)
    except ProgrammeFileError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(ExitStatus.FAILURE)
    settings, factory = _session(ctx)
    render = None if dry_run else make_renderer(settings)
    with factory() as session, session.begin():
        user = None
        if author:
            user = session.scalars(select(User).where(User.username == author)).first()
            if user is None:
                click.echo(f"no author: unknown user {author}", err=True)
                sys.exit(ExitStatus.FAILURE)
        try:
            changes = apply(
                session, prog, user, with_users=with_users, dry_run=dry_run, render=render
            )
        except ProgrammeImportError as exc:
            click.echo(f"{file}: {exc}", err=True)
            sys.exit(ExitStatus.FAILURE)
    for line in changes:
        click.echo(line)
    click.echo(f"{len(changes)} changes {'would be made (dry run)' if dry_run else 'made'}")


@programme.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.pass_context
def programme_export(ctx: click.Context, output: Path | None) -> None:
    """Write the current programme as YAML."""
    from schedules.programme_export import export

    settings, factory = _session(ctx)
    with factory() as session:
        text = export(session, settings.timezone)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
