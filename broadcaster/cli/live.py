"""`broadcaster live icecast-config`: the streaming server's configuration for going live."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def live() -> None:
    """Going live: the streaming server (Icecast) the web feeds and the agents play."""


@live.command("icecast-config")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("/etc/icecast2/icecast.xml"),
    show_default=True,
)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--bind", required=True, help="The server's private address the Pis reach, e.g. 10.0.0.10."
)
@click.option(
    "--hostname", default="", help="The name or address agents use; default: the bind address."
)
@click.option(
    "--listeners-file",
    type=click.Path(path_type=Path),
    default=Path("/var/lib/broadcaster/icecast-listeners"),
    show_default=True,
    help="The per-session logins the web writes and Icecast reads (live_listeners_file).",
)
@click.option(
    "--log-dir",
    type=click.Path(path_type=Path),
    default=Path("/var/log/icecast2"),
    show_default=True,
)
def icecast_config(
    out: Path, port: int, bind: str, hostname: str, listeners_file: Path, log_dir: Path
) -> None:
    """Write Icecast's configuration (new source and admin passwords, every mount behind the
    sessions' logins, no burst on connect) and print the settings that point the server at it."""
    import secrets

    from broadcaster.live.icecast import IcecastConfig, icecast_xml
    from broadcaster.wire.files import write_atomic

    source = secrets.token_urlsafe(24)
    host = hostname or bind
    cfg = IcecastConfig(
        port=port,
        source_password=source,
        admin_password=secrets.token_urlsafe(24),
        listeners_file=listeners_file,
        log_dir=log_dir,
        bind=bind,
        hostname=host,
        change_owner=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, icecast_xml(cfg), mode=0o640)
    if not listeners_file.exists():  # Icecast refuses to start without it; the web fills it
        listeners_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(listeners_file, b"", mode=0o644)
    click.echo(
        f"wrote {out} (Icecast on {bind}:{port}); add to the server's configuration:", err=True
    )
    click.echo(f'live_icecast_source_url = "icecast://source:{source}@{bind}:{port}"')
    click.echo(f'live_icecast_public_url = "http://{host}:{port}"')
    click.echo(f'live_listeners_file = "{listeners_file}"')
