"""``broadcaster sites``: provision, revoke, tls-init, mosquitto-conf."""

from __future__ import annotations

from pathlib import Path

import click

from broadcaster.broker import SERVER_USER, agent_username
from broadcaster.wire.files import write_atomic
from broadcaster.wire.topics import Topics

from .base import ProvisionError
from .broker_files import BrokerFiles, mosquitto_conf
from .bundle import ensure_server_user, provision_site
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
    """Provision Pi agents: MQTT credentials, ACL, TLS, agent bundles."""


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
@click.argument("site")
@click.option(
    "--zone", "zones", multiple=True, help="Zone of the site (default: from the database)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle folder (default: instance/bundles/SITE).",
)
@_broker_dir_option
@click.option("--broker-host", help="Broker host name the Pi connects to (default: mqtt_host).")
@click.option("--broker-port", type=int, help="Default: 8883 with TLS, else 1884.")
@click.option("--tls/--no-tls", default=None, help="Default: TLS when the broker has certificates.")
@click.option(
    "--player", type=click.Choice(["mpv", "aplay", "file"]), default="mpv", show_default=True
)
@click.pass_context
def provision_command(
    ctx: click.Context,
    site: str,
    zones: tuple[str, ...],
    out: Path | None,
    broker_dir: Path | None,
    broker_host: str | None,
    broker_port: int | None,
    tls: bool | None,
    player: str,
) -> None:
    """Create SITE's MQTT credentials and ACL entries and write its agent bundle."""
    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    if not zones:
        found = _zones_from_db(settings, site)
        if found is None:
            raise click.ClickException(
                f"site {site!r} is not in the database; load the commune or pass --zone"
            )
        zones = tuple(found)
    ring = KeyRing(settings.signing_key_file)
    version, trusted = ring.trusted()
    broker_dir = _broker_dir(ctx, broker_dir)
    broker = BrokerFiles(broker_dir)
    try:
        if ensure_server_user(
            broker, settings.mqtt_username or SERVER_USER, settings.mqtt_password
        ):
            click.echo(f"added the server's MQTT user {settings.mqtt_username or SERVER_USER}")
        bundle = provision_site(
            site=site,
            zones=zones,
            broker=broker,
            topics=Topics(settings.topic_root),
            trusted_keys=trusted,
            keys_version=version,
            out=out or Path("instance/bundles") / site,
            broker_host=broker_host or settings.mqtt_host,
            broker_port=broker_port,
            tls=tls,
            player=player,
        )
    except ProvisionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"site {site}: user {agent_username(site)}, zones {', '.join(zones) or '-'}")
    click.echo(f"bundle: {bundle.out} (agent.toml holds the password: copy it to the Pi only)")
    click.echo(
        f"broker files updated in {broker_dir}; reload Mosquitto (systemctl reload mosquitto)"
    )
    click.echo(f"on the Pi: sudo deploy/pi/install.sh {bundle.out}")


@sites.command("revoke")
@click.argument("site")
@_broker_dir_option
@click.pass_context
def revoke_command(ctx: click.Context, site: str, broker_dir: Path | None) -> None:
    """Remove SITE's MQTT user and ACL entries (reload Mosquitto afterwards)."""
    broker_dir = _broker_dir(ctx, broker_dir)
    broker = BrokerFiles(broker_dir)
    agents = broker.agents()
    removed = broker.remove_user(agent_username(site))
    if agents.pop(site, None) is None and not removed:
        raise click.ClickException(f"site {site!r} is not provisioned in {broker_dir}")
    broker.save_agents(agents)
    broker.write_acl(Topics(ctx.obj.settings.topic_root))
    click.echo(f"site {site} revoked; reload Mosquitto")


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
    broker = BrokerFiles(_broker_dir(ctx, broker_dir))
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
