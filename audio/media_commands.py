"""`broadcaster media prune`: the media clean-up (``audio.media_prune``) from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from audio.media_prune import PREVIEW, ROW_ONLY, TEMPORARY, UNUSED, MediaPruneReport, Removed

_KINDS = {
    PREVIEW: "no database row (a preview never saved), last used {since}",
    UNUSED: "no longer used since {since}",
    ROW_ONLY: "database row only (its file was gone), unused since {since}",
    TEMPORARY: "an unfinished write from {since}",
}


def utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def size(n: int) -> str:
    return f"{n:,} bytes" + (f" ({n / 1e6:.1f} MB)" if n >= 100_000 else "")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _line(r: Removed, dry_run: bool) -> str:
    verb = "would remove" if dry_run else "removed"
    return f"{verb} {r.name}  {r.size:,} bytes  {_KINDS[r.kind].format(since=utc(r.since))}"


def summary(report: MediaPruneReport) -> str:
    verb = "would go" if report.dry_run else "removed"
    text = (
        f"media: {plural(len(report.removed), 'file')} {verb}, {size(report.bytes_freed)} "
        f"{'to free' if report.dry_run else 'freed'} ({plural(report.count(PREVIEW), 'preview')}, "
        f"{report.count(UNUSED)} no longer used, "
        f"{plural(report.count(TEMPORARY), 'unfinished write')}); "
        f"{plural(report.rows_deleted, 'media row')} {'would be ' if report.dry_run else ''}deleted"
    )
    if report.held:
        text += f"; {report.held:,} unused media held"
        if report.held_until is not None:
            text += f" (the first may go after {utc(report.held_until)})"
    return text + (" [dry run: nothing removed]" if report.dry_run else "")


@click.group()
def media() -> None:
    """The media store: remove audio nothing names any more."""


@media.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would go; remove nothing.")
@click.option(
    "--grace-hours",
    type=click.IntRange(min=1),
    help="Unused this long before it goes (default: media_prune_grace_hours).",
)
@click.pass_context
def media_prune(ctx: click.Context, dry_run: bool, grace_hours: int | None) -> None:
    """Remove previews never saved and audio nothing references, once unused for the grace."""
    from audio.media_prune import prune_media
    from audio.store import MediaStore
    from broadcaster.db import make_engine, session_factory, upgrade

    settings = ctx.obj.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        report = prune_media(
            session_factory(engine),
            MediaStore(settings.media_dir),
            ctx.obj.clock.now(),
            timedelta(hours=grace_hours or settings.media_prune_grace_hours),
            dry_run=dry_run,
        )
    finally:
        engine.dispose()
    for removed in report.removed:
        click.echo(_line(removed, dry_run))
    click.echo(summary(report))
    if report.missing:
        shown = ", ".join(report.missing[:10]) + (" …" if len(report.missing) > 10 else "")
        click.echo(
            f"warning: {len(report.missing)} media in use are not in the store "
            f"({settings.media_dir}): {shown}",
            err=True,
        )
