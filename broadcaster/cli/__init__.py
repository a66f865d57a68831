"""The `broadcaster` command line: the root group, its options, and where each command lives.

Every command is loaded lazily from its own module (click's "lazily loading subcommands"), and
``--help`` lists them from the table below without importing them, so `broadcaster agent` on a
Pi and `broadcaster --help` import little. Exit statuses: broadcaster.exit_status.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from broadcaster.exit_status import ExitStatus

if TYPE_CHECKING:
    from broadcaster.clock import Clock
    from broadcaster.config import Settings


@dataclass(frozen=True)
class LazyCommand:
    target: str  # "module:attribute" of the click command or group
    short_help: str  # shown by `broadcaster --help`; a test keeps it equal to the docstring's


# Commands with their module. Run-until-signalled ones log at INFO by default (their log is
# their output); the others print their result and only warnings.
COMMANDS: dict[str, LazyCommand] = {
    "agent": LazyCommand(
        "broadcaster.cli.agent:agent", "Run the Pi agent with its own config file."
    ),
    "alerts": LazyCommand(
        "broadcaster.cli.alerts:alerts",
        "Site health alerts (offline, repeated failures, stale plan, clock drift).",
    ),
    "bulletins": LazyCommand(
        "schedules.bulletin_commands:bulletins",
        "Bulletins sent down to communes (Thông tư 39/2020's classes) and their state.",
    ),
    "db": LazyCommand("broadcaster.cli.db:db", "Database maintenance."),
    "demo": LazyCommand(
        "broadcaster.cli.demo:demo",
        "Everything on one machine: server, private Mosquitto, a simulated agent per site.",
    ),
    "ingest": LazyCommand("broadcaster.cli.services:ingest", "Run event ingest."),
    "keys": LazyCommand(
        "broadcaster.cli.keys:keys",
        "The server's Ed25519 signing keys and the list agents trust (rotation: docs/protocol.md).",
    ),
    "media": LazyCommand(
        "audio.media_commands:media", "The media store: remove audio nothing names any more."
    ),
    "normalize": LazyCommand(
        "audio.commands:normalize_command",
        "Print the spoken form of TEXT (read from stdin when TEXT is absent or -).",
    ),
    "plan": LazyCommand(
        "schedules.commands:plan",
        "Print a site's materialized plan (local times), with clashes and relays.",
    ),
    "plans": LazyCommand(
        "schedules.commands:plans",
        "The plans published to the sites: send them again.",
    ),
    "programme": LazyCommand(
        "schedules.commands:programme",
        "A commune's set-up in YAML: zones, sites, slots, relays, campaigns, recurring items.",
    ),
    "render": LazyCommand(
        "audio.commands:render_command",
        "Render an announcement to a mastered audio file; print engine, duration and loudness.",
    ),
    "reports": LazyCommand(
        "broadcaster.cli.reports:reports",
        "The reports' daily roll-ups: rebuild them from the playback log, or catch up.",
    ),
    "scheduler": LazyCommand(
        "broadcaster.cli.services:scheduler",
        "Run the scheduler and site-health alerts (exactly one per installation).",
    ),
    "live": LazyCommand(
        "broadcaster.cli.live:live",
        "Going live: the streaming server (Icecast) the web feeds and the agents play.",
    ),
    "serve": LazyCommand(
        "broadcaster.cli.services:serve",
        "Run web, scheduler and ingest in one process (one commune, SQLite).",
    ),
    "sites": LazyCommand(
        "broadcaster.provision.cli:sites",
        "Provision Pi agents: MQTT credentials, the broker's rules, TLS, agent bundles.",
    ),
    "tokens": LazyCommand(
        "broadcaster.cli.tokens:tokens",
        "API tokens for other systems: make one (shown once), list, revoke.",
    ),
    "units": LazyCommand(
        "broadcaster.cli.units:units",
        "Administrative units: the province, communes and wards, and merging communes.",
    ),
    "users": LazyCommand("broadcaster.cli.users:users", "User accounts."),
    "web": LazyCommand("broadcaster.cli.services:web", "Run the web UI and API only."),
}
SERVICES = frozenset({"agent", "demo", "ingest", "scheduler", "serve", "web"})


class LazyGroup(click.Group):
    """A group whose commands are imported when run, and listed in --help without importing."""

    def __init__(self, *args: Any, lazy: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        module, attr = self.lazy[name].target.split(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[name].target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(map(len, self.list_commands(ctx)), default=0)
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append(
                    (name, click.utils.make_default_short_help(self.lazy[name].short_help, limit))
                )
            elif (command := super().get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _Ctx:
    """``ctx.obj`` of every command: the server settings (loaded on first use) and the clock: the
    wall clock, made here at the edge, unless the caller invoked ``main`` with an ``obj`` of its
    own (a test's ``_Ctx`` with a FakeClock)."""

    def __init__(self, config: str | None, clock: Clock | None = None) -> None:
        from broadcaster.clock import SYSTEM_CLOCK

        self.config_path = config
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        from broadcaster.config import ConfigError, Settings

        if self._settings is None:
            try:
                self._settings = Settings.load(self.config_path)
            except ConfigError as exc:
                click.echo(f"configuration error: {exc}", err=True)
                sys.exit(ExitStatus.CONFIG)
        return self._settings


def _setup_logging(verbose: bool, command: str | None) -> None:
    """Warnings only for one-shot commands, INFO for services, DEBUG with -v; Alembic's
    migration lines only with -v. Does nothing where logging is already set up (tests)."""
    handler = logging.StreamHandler()
    if verbose:
        level = logging.DEBUG
    else:
        level = logging.INFO if command in SERVICES else logging.WARNING
        handler.addFilter(
            lambda r: r.levelno >= logging.WARNING or not r.name.startswith("alembic")
        )
    logging.basicConfig(
        level=level,
        handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group(cls=LazyGroup, lazy=COMMANDS, invoke_without_command=True, no_args_is_help=True)
@click.option(
    "--config",
    "config",
    envvar="BROADCASTER_CONFIG",
    type=click.Path(dir_okay=False),
    help="Server config file (TOML). Also BROADCASTER_CONFIG.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging, database migrations included.")
@click.option(
    "--check-config",
    is_flag=True,
    help=f"Validate the configuration and exit ({ExitStatus.CONFIG:d} if it is invalid).",
)
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool, check_config: bool) -> None:
    """broadcaster: commune loudspeaker announcements, from text to speakers."""
    _setup_logging(verbose, ctx.invoked_subcommand)
    ctx.obj = _Ctx(config, ctx.obj.clock if isinstance(ctx.obj, _Ctx) else None)
    if check_config:
        from broadcaster.config import ConfigError

        settings = ctx.obj.settings
        try:  # one config file serves every part, the web UI's secret included
            settings.require_web_secret()
        except ConfigError as exc:
            click.echo(f"configuration error: {exc}", err=True)
            ctx.exit(ExitStatus.CONFIG)
        click.echo(f"configuration OK ({config or 'defaults and environment'})")
        click.echo(f"  database: {settings.database_url}")
        click.echo(f"  mqtt: {settings.mqtt_host}:{settings.mqtt_port} root {settings.topic_root}")
        ctx.exit(ExitStatus.OK)
    if ctx.invoked_subcommand is None:
        raise click.UsageError("Missing command.")
