"""`broadcaster units list|add|merge`."""

from __future__ import annotations

import click

from broadcaster.models import UNIT_KINDS


@click.group()
def units() -> None:
    """Administrative units: the province, communes and wards, and merging communes."""


@units.command("list")
@click.pass_context
def units_list(ctx: click.Context) -> None:
    """Print the tree of units (code, kind, name), merged ones marked."""
    from sqlalchemy import select

    from broadcaster.db import make_engine, session_factory, upgrade
    from broadcaster.models import Unit

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        all_units = list(session.scalars(select(Unit).order_by(Unit.code)))

        def show(parent: int | None, depth: int) -> None:
            for u in all_units:
                if u.parent_id == parent:
                    merged = f" (merged into {u.merged_into.code})" if u.merged_into else ""
                    click.echo(f"{'  ' * depth}{u.code}  {u.kind}  {u.name}{merged}")
                    show(u.id, depth + 1)

        show(None, 0)
    engine.dispose()


@units.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--kind", type=click.Choice(UNIT_KINDS), default="commune", show_default=True)
@click.option("--parent", "parent_code", default="", help="Code of the unit above it.")
@click.pass_context
def units_add(ctx: click.Context, code: str, name: str, kind: str, parent_code: str) -> None:
    """Add a unit under another (or a top unit without --parent)."""
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.units import UnitError, add_unit, by_code

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            parent = by_code(session, parent_code) if parent_code else None
            add_unit(session, kind, code, name, parent)
    except UnitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"unit {code} ({kind}) added")


@units.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "into_code", required=True, help="Code of the commune they become.")
@click.pass_context
def units_merge(ctx: click.Context, sources: tuple[str, ...], into_code: str) -> None:
    """Merge communes SOURCES into another: zones, sites, users and programme move; past
    airings keep the unit they aired under."""
    from broadcaster.db import make_engine, session_factory, transaction, upgrade
    from broadcaster.merge import merge_units
    from broadcaster.units import UnitError, by_code

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            merged = merge_units(
                session,
                [by_code(session, code) for code in sources],
                by_code(session, into_code),
                ctx.obj.clock.now(),
            )
    except UnitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    moved = ", ".join(f"{n} {table}" for table, n in merged.moved.items())
    click.echo(f"merged {', '.join(merged.sources)} into {merged.into}: moved {moved}")
