"""Provisioning sites: MQTT credentials, ACL, TLS material and the agent bundle for a Pi.

``broadcaster sites provision SITE`` (on the server):

1. makes a random MQTT password for ``agent-<site>``, stores only its hash in the broker's
   password file (``mosquitto_passwd``; the plain text goes into the bundle and nowhere else),
2. records the site and its zones in ``agents.json`` in the broker directory and regenerates the
   whole ACL from it (the rules of :func:`broadcaster.broker.acl_lines`: an agent reads only its
   site's and its zones' server topics and the keys list, and writes only its own status and
   events),
3. writes the agent bundle: ``agent.toml`` (site, zones, broker, credentials, trusted keys),
   ``trusted-keys.json`` and, with TLS, ``ca.crt``; ``deploy/pi/install.sh`` installs it.

Then reload Mosquitto (SIGHUP re-reads the password and ACL files). The broker directory
(``--broker-dir``, ``$BROADCASTER_BROKER_DIR``) is what ``deploy/mosquitto/broadcaster.conf``
points at: ``passwd``, ``acl``, ``agents.json``, ``ca.crt``, ``server.crt``, ``server.key``.
``sites tls-init`` makes a CA and a server certificate with ``cryptography`` (or bring your own).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import SERVER_USER, AgentAccount, acl_lines, agent_username
from broadcaster.wire.signing import key_id
from broadcaster.wire.topics import Topics, valid_id

logger = logging.getLogger(__name__)

# Where deploy/pi/install.sh puts things on the Pi.
PI_CONFIG_DIR = "/etc/broadcaster-agent"
PI_STATE_DIR = "/var/lib/broadcaster-agent"
DEFAULT_BROKER_DIR = "instance/mosquitto"
TLS_PORT = 8883


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says what to fix."""


# -- TLS material -------------------------------------------------------------------------------


def make_ca(common_name: str = "broadcaster MQTT CA", days: int = 3650) -> tuple[bytes, bytes]:
    """A self-signed CA: (key PEM, certificate PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def make_server_cert(
    ca_key_pem: bytes, ca_cert_pem: bytes, hosts: Iterable[str], days: int = 825
) -> tuple[bytes, bytes]:
    """A broker certificate for ``hosts`` (DNS names or IP addresses): (key PEM, cert PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    hosts = list(hosts)
    if not hosts:
        raise ProvisionError("the broker certificate needs at least one host name")
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes | str, mode: int) -> None:
    """Write atomically with ``mode`` (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the broker's files -------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerFiles:
    """The files Mosquitto reads (see ``deploy/mosquitto/broadcaster.conf``)."""

    root: Path

    @property
    def passwd(self) -> Path:
        return self.root / "passwd"

    @property
    def acl(self) -> Path:
        return self.root / "acl"

    @property
    def registry(self) -> Path:
        return self.root / "agents.json"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    @property
    def tls(self) -> bool:
        return self.ca_cert.exists() and self.server_cert.exists() and self.server_key.exists()

    # registry of provisioned agents (site → zones)

    def agents(self) -> dict[str, list[str]]:
        if not self.registry.exists():
            return {}
        data = json.loads(self.registry.read_text(encoding="utf-8"))
        return {str(site): [str(z) for z in zones] for site, zones in data.items()}

    def save_agents(self, agents: dict[str, list[str]]) -> None:
        _write(self.registry, json.dumps(agents, indent=2, sort_keys=True) + "\n", 0o640)

    # passwords (hashed by mosquitto_passwd) and the ACL

    def _passwd_lines(self) -> list[str]:
        if not self.passwd.exists():
            return []
        return [line for line in self.passwd.read_text().splitlines() if line.strip()]

    def users(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self._passwd_lines()]

    def set_password(self, user: str, password: str) -> None:
        """Add or replace ``user`` with the hash of ``password``; the plain text never lands in
        the password file (it is hashed in a private temp file by ``mosquitto_passwd -U``)."""
        if ":" in user or "\n" in user or "\n" in password:
            raise ProvisionError(f"bad user name or password for {user!r}")
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        if not Path(tool).exists():
            raise ProvisionError("mosquitto_passwd not found (install mosquitto)")
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            plain = Path(tmp) / "one"
            fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{user}:{password}\n")
            result = subprocess.run([tool, "-U", str(plain)], capture_output=True, check=False)
            if result.returncode != 0:
                raise ProvisionError(f"mosquitto_passwd failed: {result.stderr.decode()[-300:]}")
            hashed = plain.read_text().strip()
        lines = [line for line in self._passwd_lines() if line.split(":", 1)[0] != user]
        _write(self.passwd, "\n".join([*lines, hashed]) + "\n", 0o640)

    def remove_user(self, user: str) -> bool:
        lines = self._passwd_lines()
        kept = [line for line in lines if line.split(":", 1)[0] != user]
        if len(kept) == len(lines):
            return False
        _write(self.passwd, "\n".join(kept) + ("\n" if kept else ""), 0o640)
        return True

    def write_acl(self, topics: Topics) -> None:
        accounts = [AgentAccount(site, tuple(zones), "") for site, zones in self.agents().items()]
        header = [
            "# Generated by `broadcaster sites provision`; do not edit by hand.",
            "# Anonymous clients are refused by the listener (allow_anonymous false).",
            "",
        ]
        _write(self.acl, "\n".join(header + acl_lines(topics, accounts)) + "\n", 0o640)


def mosquitto_conf(
    broker_dir: str | Path,
    *,
    plain_port: int = 1883,
    plain_bind: str = "127.0.0.1",
    tls_port: int | None = TLS_PORT,
    persistence_dir: str | Path | None = None,
) -> str:
    """The Mosquitto configuration for broadcaster (``deploy/mosquitto/broadcaster.conf`` is
    this with the defaults and ``broker_dir=/etc/mosquitto/broadcaster``)."""
    d = Path(broker_dir)
    lines = [
        "# Mosquitto for broadcaster: no anonymous access, a password per agent, a per-agent ACL,",
        "# TLS for the Pis. Generated by broadcaster.provision.mosquitto_conf; the password, ACL",
        "# and certificate files are written by `broadcaster sites provision` / `sites tls-init`.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {d / 'passwd'}",
        f"acl_file {d / 'acl'}",
        "# Per client session. The ingest session must hold a whole province burst (2,000 sites ×",
        "# several events) while ingest restarts; agents resend what is dropped, but later.",
        "max_queued_messages 200000",
        "max_packet_size 1048576",
    ]
    if persistence_dir is not None:
        lines += ["persistence true", f"persistence_location {persistence_dir}"]
    else:
        lines += [
            "# Persistence (sessions, queued and retained messages survive a restart) is on in",
            "# Debian's /etc/mosquitto/mosquitto.conf, which includes this file from conf.d/.",
        ]
    lines += [
        "",
        "# The server (scheduler, ingest, web) on the same machine.",
        f"listener {plain_port} {plain_bind}",
    ]
    if tls_port is not None:
        lines += [
            "",
            "# The Pis, over the Internet / 3G: TLS only.",
            f"listener {tls_port}",
            f"cafile {d / 'ca.crt'}",
            f"certfile {d / 'server.crt'}",
            f"keyfile {d / 'server.key'}",
            "tls_version tlsv1.2",
        ]
    return "\n".join(lines) + "\n"


# -- provisioning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundle:
    site: str
    out: Path
    config: AgentConfig
    password: str


def provision_site(
    *,
    site: str,
    zones: Iterable[str],
    broker: BrokerFiles,
    topics: Topics,
    trusted_keys: list[str],
    keys_version: int,
    out: Path,
    broker_host: str,
    broker_port: int | None = None,
    tls: bool | None = None,
    player: str = "mpv",
) -> Bundle:
    """Credentials + registry + ACL + bundle for one site; re-provisioning makes a new
    password (the old bundle stops working once Mosquitto reloads)."""
    if not valid_id(site):
        raise ProvisionError(f"site id {site!r} is not a lowercase slug")
    zones = sorted(dict.fromkeys(zones))
    for zone in zones:
        if not valid_id(zone):
            raise ProvisionError(f"zone id {zone!r} is not a lowercase slug")
    use_tls = broker.tls if tls is None else tls
    if use_tls and not broker.ca_cert.exists():
        raise ProvisionError(f"TLS asked but {broker.ca_cert} is missing (run `sites tls-init`)")
    password = secrets.token_urlsafe(24)
    broker.set_password(agent_username(site), password)
    agents = broker.agents()
    agents[site] = list(zones)
    broker.save_agents(agents)
    broker.write_acl(topics)
    config = AgentConfig(
        site=site,
        zones=zones,
        state_dir=PI_STATE_DIR,
        trusted_keys=trusted_keys,
        mqtt_host=broker_host,
        mqtt_port=broker_port or (TLS_PORT if use_tls else 1883),
        mqtt_username=agent_username(site),
        mqtt_password=password,
        mqtt_tls=use_tls,
        mqtt_ca_file=f"{PI_CONFIG_DIR}/ca.crt" if use_tls else "",
        topic_root=topics.root,
        player=player,
        output_dir="/var/lib/broadcaster-agent/out" if player == "file" else "",
    )
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    config.dump(out / "agent.toml")  # 0600: it holds the password
    keys_doc = {
        "version": keys_version,
        "keys": [{"kid": key_id(k), "public": k} for k in trusted_keys],
    }
    _write(out / "trusted-keys.json", json.dumps(keys_doc, indent=2) + "\n", 0o644)
    if use_tls:
        shutil.copyfile(broker.ca_cert, out / "ca.crt")
        os.chmod(out / "ca.crt", 0o644)
    else:
        (out / "ca.crt").unlink(missing_ok=True)  # from an earlier TLS bundle
    logger.info("provisioned site %s (zones %s) into %s", site, ",".join(zones) or "-", out)
    return Bundle(site, out, config, password)


def ensure_server_user(broker: BrokerFiles, username: str, password: str) -> bool:
    """Make sure the server's own MQTT user exists (from its settings); True if written."""
    if not password or username in broker.users():
        return False
    broker.set_password(username, password)
    return True


# -- CLI ----------------------------------------------------------------------------------------

_broker_dir_option = click.option(
    "--broker-dir",
    envvar="BROADCASTER_BROKER_DIR",
    default=DEFAULT_BROKER_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Mosquitto's broadcaster files (passwd, acl, agents.json, certificates). "
    "Also BROADCASTER_BROKER_DIR.",
)


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
@click.option("--broker-port", type=int, help="Default: 8883 with TLS, else 1883.")
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
    broker_dir: Path,
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
def revoke_command(ctx: click.Context, site: str, broker_dir: Path) -> None:
    """Remove SITE's MQTT user and ACL entries (reload Mosquitto afterwards)."""
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
def tls_init_command(hosts: tuple[str, ...], broker_dir: Path, force: bool) -> None:
    """Make a CA and a broker certificate for HOSTs (with the `cryptography` package)."""
    broker = BrokerFiles(broker_dir)
    if broker.ca_cert.exists() and not force:
        ca_key, ca_cert = broker.ca_key.read_bytes(), broker.ca_cert.read_bytes()
        click.echo(f"using the existing CA {broker.ca_cert}")
    else:
        ca_key, ca_cert = make_ca()
        _write(broker.ca_key, ca_key, 0o600)
        _write(broker.ca_cert, ca_cert, 0o644)
        click.echo(f"new CA {broker.ca_cert}")
    key, cert = make_server_cert(ca_key, ca_cert, hosts)
    _write(broker.server_key, key, 0o640)
    _write(broker.server_cert, cert, 0o644)
    click.echo(f"broker certificate for {', '.join(hosts)}: {broker.server_cert}")


@sites.command("mosquitto-conf")
@_broker_dir_option
def mosquitto_conf_command(broker_dir: Path) -> None:
    """Print the Mosquitto configuration for BROKER_DIR."""
    click.echo(mosquitto_conf(broker_dir.resolve()), nl=False)
