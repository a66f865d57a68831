"""Provisioning sites: credentials, registry and rules at the broker, and an agent bundle per
site for its Pi. One site (``provision_site``) is a run of one (``provision_sites``).

A run writes nothing visible until all of it is ready (``StagedFiles``): every bundle and the
broker's files are written as temporary files, then renamed into place together.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import agent_username
from broadcaster.config import Settings
from broadcaster.wire.signing import key_id
from broadcaster.wire.topics import Topics, valid_id

from .base import AGENT_PLAIN_PORT, PI_CONFIG_DIR, PI_STATE_DIR, TLS_PORT, ProvisionError
from .broker_files import BrokerDir
from .staged import StagedFiles

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (step, sites done, sites in the run)


@dataclass(frozen=True)
class Bundle:
    site: str
    out: Path
    config: AgentConfig
    password: str
    new_password: bool = True


@dataclass(frozen=True)
class SiteSpec:
    """A site to provision: its id and zones."""

    site: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class BundleOptions:
    """What every bundle of a run shares: keys, the broker's address as the Pis see it."""

    topics: Topics
    trusted_keys: Sequence[str]
    keys_version: int
    broker_host: str
    broker_port: int | None = None
    tls: bool | None = None  # None: TLS when the broker directory has certificates
    player: str = "mpv"
    mqtt_protocol: str = "5"  # "3.1.1" for a broker that has no MQTT 5 (NATS 2.9)
    fallback_brokers: str = ""  # a cluster's other nodes, "host:port,host:port"
    mqtt_qos: int = 1  # 0 on NATS 2.9 (AgentConfig.mqtt_qos)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        broker: BrokerDir,
        *,
        broker_host: str | None = None,
        broker_port: int | None = None,
        fallback_brokers: str | None = None,
        tls: bool | None = None,
        player: str = "mpv",
    ) -> BundleOptions:
        """The options the server's settings give (its topics, the keys agents trust, its
        broker's address) for ``broker``'s agents; what the caller passes overrides them."""
        from broadcaster.keys import KeyRing

        version, trusted = KeyRing(settings.signing_key_file).trusted()
        return cls(
            topics=Topics(settings.topic_root),
            trusted_keys=trusted,
            keys_version=version,
            broker_host=broker_host or settings.mqtt_host,
            broker_port=broker_port,
            tls=tls,
            player=player,
            mqtt_protocol=broker.agent_protocol,
            mqtt_qos=broker.agent_qos,
            fallback_brokers=(
                settings.mqtt_fallback_brokers if fallback_brokers is None else fallback_brokers
            ),
        )


def check_spec(spec: SiteSpec) -> SiteSpec:
    """The spec with sorted, unique zones; a ``ProvisionError`` for a bad id."""
    if not valid_id(spec.site):
        raise ProvisionError(f"site id {spec.site!r} is not a lowercase slug")
    zones = tuple(sorted(dict.fromkeys(spec.zones)))
    for zone in zones:
        if not valid_id(zone):
            raise ProvisionError(f"zone id {zone!r} is not a lowercase slug")
    return SiteSpec(spec.site, zones)


def provision_sites(
    specs: Iterable[SiteSpec],
    *,
    broker: BrokerDir,
    options: BundleOptions,
    out_for: Callable[[str], Path],
    new_passwords: bool = False,
    progress: Progress | None = None,
) -> list[Bundle]:
    """Credentials + registry + rules + a bundle (``out_for(site)``) for each site, all put in
    place together or not at all. A site whose bundle is already there keeps its password
    (so a re-run changes nothing the Pis hold) unless ``new_passwords``."""
    checked = [check_spec(s) for s in specs]
    seen: set[str] = set()
    for spec in checked:
        if spec.site in seen:
            raise ProvisionError(f"site {spec.site!r} is given twice")
        seen.add(spec.site)
    use_tls = broker.tls if options.tls is None else options.tls
    if use_tls and not broker.ca_cert.exists():
        raise ProvisionError(f"TLS asked but {broker.ca_cert} is missing (run `sites tls-init`)")
    ca = broker.ca_cert.read_bytes() if use_tls else None
    keys_doc = {
        "version": options.keys_version,
        "keys": [{"kid": key_id(k), "public": k} for k in options.trusted_keys],
    }
    keys_text = json.dumps(keys_doc, indent=2) + "\n"
    agents = broker.agents()
    hashes = broker.hashes()
    passwords: list[tuple[str | None, str]] = []  # (kept from the bundle or None, password)
    for spec in checked:
        username = agent_username(spec.site)
        kept = None if new_passwords else _bundle_password(out_for(spec.site), spec.site, username)
        passwords.append((kept, kept or secrets.token_urlsafe(24)))
        agents[spec.site] = list(spec.zones)
    todo = [
        (
            agent_username(spec.site),
            password,
            hashes.get(agent_username(spec.site)) if kept else None,
        )
        for spec, (kept, password) in zip(checked, passwords, strict=True)
    ]
    hashes.update(_hash_all(broker, todo, progress))
    bundles: list[Bundle] = []
    with StagedFiles() as staged:
        for done, (spec, (kept, password)) in enumerate(zip(checked, passwords, strict=True), 1):
            out = out_for(spec.site)
            config = _agent_config(spec, options, use_tls, agent_username(spec.site), password)
            if not out.exists():
                staged.mkdir(out, 0o700)
            staged.add(out / "agent.toml", config.to_toml(), 0o600)  # it holds the password
            staged.add(out / "trusted-keys.json", keys_text, 0o644)
            if ca is not None:
                staged.add(out / "ca.crt", ca, 0o644)
            elif (out / "ca.crt").exists():
                staged.remove(out / "ca.crt")  # from an earlier TLS bundle
            bundles.append(Bundle(spec.site, out, config, password, kept is None))
            if progress is not None:
                progress("bundles", done, len(checked))
        broker.stage_all(staged, options.topics, agents, hashes)
        staged.commit()
    for b in bundles:
        logger.info(
            "provisioned site %s (zones %s) into %s", b.site, ",".join(b.config.zones) or "-", b.out
        )
    return bundles


HASH_THREADS = min(8, os.cpu_count() or 1)  # hashlib and bcrypt hash without the GIL


def _hash_all(
    broker: BrokerDir, todo: list[tuple[str, str, str | None]], progress: Progress | None
) -> dict[str, str]:
    """``user → hash`` for ``(user, password, hash known for it or None)``: the known hash
    when it is the password's, else a new one; on every CPU (bcrypt costs ms each)."""

    def one(item: tuple[str, str, str | None]) -> tuple[str, str]:
        user, password, known = item
        if known is not None and broker.verify_password(password, known):
            return user, known
        return user, broker.hash_password(password)

    done: dict[str, str] = {}
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        for n, (user, hashed) in enumerate(pool.map(one, todo), 1):
            done[user] = hashed
            if progress is not None:
                progress("passwords", n, len(todo))
    return done


def _bundle_password(out: Path, site: str, username: str) -> str | None:
    """The password in an existing bundle for ``site``, or None."""
    try:
        text = (out / "agent.toml").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    # Only the three keys, each one line (parsing 5,000 whole files costs seconds).
    found: dict[str, object] = {}
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if key in ("site", "mqtt_username", "mqtt_password"):
            try:
                found.update(tomllib.loads(line))
            except tomllib.TOMLDecodeError:
                return None
    if found.get("site") != site or found.get("mqtt_username") != username:
        return None
    password = found.get("mqtt_password")
    return password if isinstance(password, str) and password else None


def _agent_config(
    spec: SiteSpec, options: BundleOptions, use_tls: bool, username: str, password: str
) -> AgentConfig:
    return AgentConfig(
        site=spec.site,
        zones=spec.zones,
        state_dir=PI_STATE_DIR,
        trusted_keys=options.trusted_keys,
        mqtt_host=options.broker_host,
        mqtt_port=options.broker_port or (TLS_PORT if use_tls else AGENT_PLAIN_PORT),
        mqtt_username=username,
        mqtt_password=password,
        mqtt_protocol=options.mqtt_protocol,
        mqtt_tls=use_tls,
        mqtt_ca_file=f"{PI_CONFIG_DIR}/ca.crt" if use_tls else "",
        mqtt_fallback_brokers=options.fallback_brokers,
        mqtt_qos=options.mqtt_qos,
        topic_root=options.topics.root,
        player=options.player,
        output_dir="/var/lib/broadcaster-agent/out" if options.player == "file" else "",
    )


def provision_site(
    *, site: str, zones: Iterable[str], broker: BrokerDir, options: BundleOptions, out: Path
) -> Bundle:
    """Credentials + registry + rules + bundle for one site; it always makes a new password
    (the old bundle stops working once the broker reloads)."""
    spec = SiteSpec(site, tuple(zones))
    (bundle,) = provision_sites(
        [spec], broker=broker, options=options, out_for=lambda _: out, new_passwords=True
    )
    return bundle


def ensure_server_user(broker: BrokerDir, username: str, password: str) -> bool:
    """Make sure the server's own MQTT user (from its settings) is in the server's password
    file with this password, and not in the agents' (where files from before issue 10 had it);
    True if written."""
    if username in broker.users():
        broker.remove_user(username)
    if not password:
        return False
    known = broker.hashes(broker.server_passwd).get(username)
    if known is not None and broker.verify_password(password, known):
        return False
    broker.set_password(username, password, server=True)
    return True
