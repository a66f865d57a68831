"""The `broadcaster` command line. Exit codes: 0 ok, 1 failure, 2 usage, 3 bad configuration."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from broadcaster.clock import Clock, SystemClock
from broadcaster.config import ConfigError, Settings
from broadcaster.roles import ROLES

EXIT_FAILURE = 1
EXIT_CONFIG = 3


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# Command groups that live with the part they drive ("name": "module:attribute"). They are
# imported only when used, so `broadcaster agent` works on a Pi without the server packages.
LAZY_COMMANDS: dict[str, str] = {
    "normalize": "audio.commands:normalize_command",
    "render": "audio.commands:render_command",
    "plan": "schedules.commands:plan",
    "programme": "schedules.commands:programme",
    "alerts": "broadcaster.alerts:cli",
    "sites": "broadcaster.provision.cli:sites",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            import importlib

            module, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, name)


class _Ctx:
    """What every command gets in ``ctx.obj``: the settings (loaded when first used) and the
    clock: the wall clock, made here at the edge, unless the caller invoked ``main`` with an
    ``obj`` of its own (a test's ``_Ctx`` with a FakeClock)."""

    def __init__(self, config: str | None, clock: Clock | None = None) -> None:
        self.config_path = config
        self.clock: Clock = clock or SystemClock()
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings.load(self.config_path)
            except ConfigError as exc:
                click.echo(f"configuration error: {exc}", err=True)
                sys.exit(EXIT_CONFIG)
        return self._settings


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    "config",
    envvar="BROADCASTER_CONFIG",
    type=click.Path(dir_okay=False),
    help="Server config file (TOML). Also BROADCASTER_CONFIG.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("--check-config", is_flag=True, help="Validate the configuration and exit.")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool, check_config: bool) -> None:
    """broadcaster: commune loudspeaker announcements, from text to speakers."""
    _setup_logging(verbose)
    ctx.obj = _Ctx(config, ctx.obj.clock if isinstance(ctx.obj, _Ctx) else None)
    if check_config:
        settings = ctx.obj.settings
        click.echo(f"configuration OK ({config or 'defaults and environment'})")
        click.echo(f"  database: {settings.database_url}")
        click.echo(f"  mqtt: {settings.mqtt_host}:{settings.mqtt_port} root {settings.topic_root}")
        ctx.exit(0)


def _run_parts(ctx: click.Context, names: list[str]) -> None:
    from broadcaster.processes import run_until_signalled

    sys.exit(run_until_signalled(ctx.obj.settings, names))


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run web, scheduler and ingest in one process (one commune, SQLite)."""
    _run_parts(ctx, ["scheduler", "alerts", "ingest", "web"])


@main.command()
@click.pass_context
def web(ctx: click.Context) -> None:
    """Run the web UI and API only."""
    _run_parts(ctx, ["web"])


@main.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler and site-health alerts (exactly one per installation)."""
    _run_parts(ctx, ["scheduler", "alerts"])


@main.command()
@click.pass_context
def ingest(ctx: click.Context) -> None:
    """Run event ingest."""
    _run_parts(ctx, ["ingest"])


@main.command()
@click.option(
    "--config", "agent_config", required=True, type=click.Path(exists=True, dir_okay=False)
)
def agent(agent_config: str) -> None:
    """Run the Pi agent with its own config file."""
    from broadcaster.agent.main import run

    sys.exit(run(agent_config))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations up to the newest schema."""
    from broadcaster.db import upgrade

    upgrade(ctx.obj.settings.database_url)
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """The server's Ed25519 signing keys and the list agents trust (rotation: docs/protocol.md)."""


def _publish_keys(settings: Settings, payload: bytes) -> None:
    """Publish a signed keys list, retained, QoS 1, and wait for the broker's PUBACK."""
    from broadcaster.mqtt import Link, PublishError, unique_client_id
    from broadcaster.wire.topics import Topics

    conn = Link(settings.mqtt_options(), unique_client_id("keys"))
    try:
        if not conn.start(wait=10):
            raise click.ClickException(
                f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} not reachable"
            )
        conn.publish(Topics(settings.topic_root).keys(), payload, qos=1, retain=True)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.stop()


@keys.command("show")
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Print the active key and the trusted list (creates the key pair if missing)."""
    from broadcaster.keys import KeyRing

    ring = KeyRing(ctx.obj.settings.signing_key_file)
    signer = ring.active()
    click.echo(f"key id: {signer.kid}")
    click.echo(f"public key: {signer.public_b64}")
    info = ring.describe()
    click.echo(f"trusted keys (version {info['version']}):")
    for key in info["keys"]:
        click.echo(f"  {key['kid']} {key['public']}{'  (active)' if key['active'] else ''}")


@keys.command("rotate")
@click.option("--ttl-days", default=365, show_default=True, help="Lifetime of the keys message.")
@click.pass_context
def keys_rotate(ctx: click.Context, ttl_days: int) -> None:
    """Make a new signing key; tell every agent (list signed by the current key), then sign
    with the new one. The old key stays trusted until `keys retire`."""
    from datetime import timedelta

    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    rotation = ring.begin_rotation(ctx.obj.clock.now(), timedelta(days=ttl_days))
    _publish_keys(settings, rotation.message)
    ring.finish_rotation(rotation)
    click.echo(f"published trusted keys v{rotation.update.version} (signed by {rotation.old.kid})")
    click.echo(f"signing key is now {rotation.new.kid}; {rotation.old.kid} stays trusted")
    click.echo(
        "when every site reports this keys_version, run: "
        f"broadcaster keys retire {rotation.old.kid}"
    )


@keys.command("retire")
@click.argument("kid")
@click.option("--ttl-days", default=365, show_default=True, help="Lifetime of the keys message.")
@click.pass_context
def keys_retire(ctx: click.Context, kid: str, ttl_days: int) -> None:
    """Stop trusting key KID (publishes the list without it, signed by the active key)."""
    from datetime import timedelta

    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    try:
        update, message = ring.retire(kid, ctx.obj.clock.now(), timedelta(days=ttl_days))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _publish_keys(settings, message)
    ring.record(update)
    click.echo(f"published trusted keys v{update.version} without {kid}")


@keys.command("publish")
@click.pass_context
def keys_publish(ctx: click.Context) -> None:
    """Publish the current trusted list again (retained), e.g. after a broker was rebuilt."""
    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    update, message = ring.current_message(ctx.obj.clock.now())
    _publish_keys(settings, message)
    ring.record(update)
    click.echo(f"published trusted keys v{update.version} ({len(update.keys)} key(s))")


@main.group()
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


@main.command()
@click.option("--check", is_flag=True, help="Run headless: air one announcement, verify, exit.")
@click.option(
    "--dir",
    "workdir",
    default="demo-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database, broker, agents and WAV files (wiped at start).",
)
@click.option("--port", default=8080, show_default=True, help="Web port (next free one if taken).")
@click.pass_context
def demo(ctx: click.Context, check: bool, workdir: Path, port: int) -> None:
    """Everything on one machine: server, private Mosquitto, three simulated agents."""
    from broadcaster.demo import run_demo

    sys.exit(run_demo(workdir=workdir, check=check, port=port, config=ctx.obj.settings))


if __name__ == "__main__":
    main()
