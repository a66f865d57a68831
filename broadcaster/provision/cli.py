"""``broadcaster sites``: provision, revoke, tls-init, mosquitto-conf."""

from __future__ import annotations

import time
from pathlib import Path

import click

from broadcaster.broker import SERVER_USER, agent_username
from broadcaster.config import Settings
from broadcaster.wire.files import write_atomic
from broadcaster.wire.topics import Topics

from .base import ProvisionError
from .broker_files import BrokerDir, mosquitto_conf
from .bundle import BundleOptions, SiteSpec, ensure_server_user, provision_site, provision_sites
from .kinds import broker_files
from .site_records import register_sites
from .sites_csv import SitesFileError, read_sites_csv
from .tls import make_ca, make_server_cert

_broker_dir_option = click.option(
    "--broker-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Mosquitto's broadcaster files (passwords, ACLs, agents.json, certificates). "
    "Default: the broker_dir setting (BROADCASTER_BROKER_DIR), instance/mosquitto.",
)


def _broker_dir(ctx: click.Context, given: Path | None) -> Path:
    return given if given is not None else Path(ctx.obj.settings.broker_dir)


@click.group("sites")
def sites() -> None:
    """Provision Pi agents: MQTT credentials, the broker's rules, TLS, agent bundles."""


def _zones_from_db(settings: object, site: str) -> list[str] | None:
    """The site's zones from the database, or None if the site is not there."""
    from broadcaster.db import make_engine, session_factory
    from broadcaster.models import Site

    engine = make_engine(settings.database_url)  # type: ignore[attr-defined]
    try:
        with session_factory(engine)() as session:
            row = session.get(Site, site)
            return None if row is None else sorted(z.id for z in row.zones)
    finally:
        engine.dispose()


@sites.command("provision")
@click.argument("site", required=False)
@click.option(
    "--from",
    "sites_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A CSV of sites (columns site,name,unit,zones: deploy/BROKERS.md): adds them to the "
    "database and provisions them all at once, instead of SITE.",
)
@click.option(
    "--zone", "zones", multiple=True, help="Zone of the site (default: from the database)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle folder (default: instance/bundles/SITE); with --from, the folder of the "
    "bundles, one sub-folder a site (default: instance/bundles).",
)
@_broker_dir_option
@click.option("--broker-host", help="Broker host name the Pi connects to (default: mqtt_host).")
@click.option("--broker-port", type=int, help="Default: 8883 with TLS, else 1884.")
@click.option(
    "--fallback-brokers",
    help="A cluster's other nodes as the Pis reach them, host:port,host:port "
    "(default: mqtt_fallback_brokers).",
)
@click.option("--tls/--no-tls", default=None, help="Default: TLS when the broker has certificates.")
@click.option(
    "--player", type=click.Choice(["mpv", "aplay", "file"]), default="mpv", show_default=True
)
@click.option(
    "--new-passwords",
    is_flag=True,
    help="With --from: new passwords for sites that have a bundle already (default: keep them).",
)
@click.option(
    "--create-zones",
    is_flag=True,
    help="With --from: make a zone that is not in the database yet in the site's commune.",
)
@click.pass_context
def provision_command(
    ctx: click.Context,
    site: str | None,
    sites_file: Path | None,
    zones: tuple[str, ...],
    out: Path | None,
    broker_dir: Path | None,
    broker_host: str | None,
    broker_port: int | None,
    fallback_brokers: str | None,
    tls: bool | None,
    player: str,
    new_passwords: bool,
    create_zones: bool,
) -> None:
    """Create SITE's MQTT credentials and rules at the broker (the broker_kind setting:
    Mosquitto's password file and ACL, or NATS's users file) and write its agent bundle; or
    the same for every site of a CSV file (--from)."""
    if (site is None) == (sites_file is None):
        raise click.UsageError("give a SITE or --from FILE (one of them)")
    if sites_file is not None and zones:
        raise click.UsageError("--zone is for one SITE; a sites file has a zones column")
    settings = ctx.obj.settings
    if site is not None and not zones:
        found = _zones_from_db(settings, site)
        if found is None:
            raise click.ClickException(
                f"site {site!r} is not in the database; load the commune or pass --zone"
            )
        zones = tuple(found)
    broker_dir = _broker_dir(ctx, broker_dir)
    try:
        broker = broker_files(settings.broker_kind, broker_dir)
        options = BundleOptions.from_settings(
            settings,
            broker,
            broker_host=broker_host,
            broker_port=broker_port,
            fallback_brokers=fallback_brokers,
            tls=tls,
            player=player,
        )
        if sites_file is not None:
            _provision_file(ctx, sites_file, broker, options, out, new_passwords, create_zones)
            return
        assert site is not None
        _ensure_server_user(settings, broker)
        bundle = provision_site(
            site=site,
            zones=zones,
            broker=broker,
            options=options,
            out=out or Path("instance/bundles") / site,
        )
    except ProvisionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"site {site}: user {agent_username(site)}, zones {', '.join(zones) or '-'}")
    click.echo(f"bundle: {bundle.out} (agent.toml holds the password: copy it to the Pi only)")
    click.echo(f"broker files updated in {broker_dir}; {RELOAD[broker.kind]}")
    click.echo(f"on the Pi: sudo deploy/pi/install.sh {bundle.out}")


def _ensure_server_user(settings: Settings, broker: BrokerDir) -> None:
    user = settings.mqtt_username or SERVER_USER
    if ensure_server_user(broker, user, settings.mqtt_password):
        click.echo(f"added the server's MQTT user {user}")


RELOAD = {
    "mosquitto": "reload Mosquitto (systemctl reload mosquitto)",
    "nats": "reload every NATS node (systemctl reload nats-server)",
}
SHOWN_ERRORS = 30  # a sites file's errors printed; the rest are counted


def _provision_file(
    ctx: click.Context,
    path: Path,
    broker: BrokerDir,
    options: BundleOptions,
    out: Path | None,
    new_passwords: bool,
    create_zones: bool,
) -> None:
    """``sites provision --from``: the rows checked, the sites in the database, then every
    bundle and the broker's files, in one go (nothing is written if a step fails)."""
    from broadcaster.db import make_engine, session_factory, transaction, upgrade

    started = time.monotonic()
    settings = ctx.obj.settings
    root = out or Path("instance/bundles")

    def say(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f} s] {message}", err=True)

    try:
        rows = read_sites_csv(path)
        say(f"{path}: {len(rows)} sites, every row correct")
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            with transaction(session_factory(engine)) as session:
                done = register_sites(session, rows, create_zones=create_zones, source=str(path))
                say(
                    f"database: {done.added} added, {done.changed} changed, "
                    f"{done.unchanged} unchanged"
                    + (
                        f"; zones made: {', '.join(done.zones_created)}"
                        if done.zones_created
                        else ""
                    )
                )
                _ensure_server_user(settings, broker)
                step = max(1, len(rows) // 10)

                def progress(what: str, n: int, total: int) -> None:
                    if n % step == 0 or n == total:
                        say(f"{what}: {n}/{total}")

                bundles = provision_sites(
                    [SiteSpec(r.site, r.zones) for r in rows],
                    broker=broker,
                    options=options,
                    out_for=lambda s: root / s,
                    new_passwords=new_passwords,
                    progress=progress,
                )
        finally:
            engine.dispose()
    except SitesFileError as exc:
        for line in exc.errors[:SHOWN_ERRORS]:
            click.echo(f"{path}: {line}", err=True)
        if len(exc.errors) > SHOWN_ERRORS:
            click.echo(f"{path}: … and {len(exc.errors) - SHOWN_ERRORS} more", err=True)
        raise click.ClickException(str(exc)) from None
    fresh = sum(b.new_password for b in bundles)
    say(
        f"{len(bundles)} sites provisioned ({fresh} new passwords, "
        f"{len(bundles) - fresh} kept) for {broker.kind}"
    )
    click.echo(f"bundles: {root}/SITE (each agent.toml holds its password: copy it to its Pi only)")
    click.echo(f"broker files updated in {broker.root}; {RELOAD[broker.kind]}")


@sites.command("revoke")
@click.argument("site")
@_broker_dir_option
@click.pass_context
def revoke_command(ctx: click.Context, site: str, broker_dir: Path | None) -> None:
    """Remove SITE's MQTT user and its rules (reload the broker afterwards)."""
    broker_dir = _broker_dir(ctx, broker_dir)
    broker = broker_files(ctx.obj.settings.broker_kind, broker_dir)
    agents = broker.agents()
    removed = broker.remove_user(agent_username(site))
    if agents.pop(site, None) is None and not removed:
        raise click.ClickException(f"site {site!r} is not provisioned in {broker_dir}")
    broker.save_agents(agents)
    broker.write_acl(Topics(ctx.obj.settings.topic_root))
    click.echo(f"site {site} revoked; {RELOAD[broker.kind]}")


@sites.command("tls-init")
@click.option(
    "--host", "hosts", multiple=True, required=True, help="Broker DNS name or IP (repeat)."
)
@_broker_dir_option
@click.option("--force", is_flag=True, help="Replace an existing CA (every Pi needs the new one).")
@click.pass_context
def tls_init_command(
    ctx: click.Context, hosts: tuple[str, ...], broker_dir: Path | None, force: bool
) -> None:
    """Make a CA and a broker certificate for HOSTs (with the `cryptography` package)."""
    broker = broker_files(ctx.obj.settings.broker_kind, _broker_dir(ctx, broker_dir))
    if broker.ca_cert.exists() and not force:
        ca_key, ca_cert = broker.ca_key.read_bytes(), broker.ca_cert.read_bytes()
        click.echo(f"using the existing CA {broker.ca_cert}")
    else:
        ca_key, ca_cert = make_ca(clock=ctx.obj.clock)
        broker.ensure_root()
        write_atomic(broker.ca_key, ca_key, 0o600)  # Mosquitto never reads the CA's key
        broker.write(broker.ca_cert, ca_cert, 0o644)
        click.echo(f"new CA {broker.ca_cert}")
    key, cert = make_server_cert(ca_key, ca_cert, hosts, clock=ctx.obj.clock)
    broker.write(broker.server_key, key, 0o640)
    broker.write(broker.server_cert, cert, 0o644)
    click.echo(f"broker certificate for {', '.join(hosts)}: {broker.server_cert}")


@sites.command("mosquitto-conf")
@_broker_dir_option
@click.option(
    "--server-tls-port",
    type=int,
    help="Also a TLS listener for server processes on other hosts (e.g. 8884).",
)
@click.option(
    "--agent-port", type=int, help="Also a plain listener for Pis on a trusted network (e.g. 1884)."
)
@click.pass_context
def mosquitto_conf_command(
    ctx: click.Context,
    broker_dir: Path | None,
    server_tls_port: int | None,
    agent_port: int | None,
) -> None:
    """Print the Mosquitto configuration for BROKER_DIR."""
    text = mosquitto_conf(
        _broker_dir(ctx, broker_dir).resolve(),
        server_tls_port=server_tls_port,
        agent_port=agent_port,
    )
    click.echo(text, nl=False)
