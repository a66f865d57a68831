"""Provisioning one site: credentials, registry and ACL entries, and the agent bundle for its Pi."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import agent_username
from broadcaster.wire.files import write_atomic
from broadcaster.wire.signing import key_id
from broadcaster.wire.topics import Topics, valid_id

from .base import AGENT_PLAIN_PORT, PI_CONFIG_DIR, PI_STATE_DIR, TLS_PORT, ProvisionError
from .broker_files import BrokerFiles

logger = logging.getLogger(__name__)


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
        mqtt_port=broker_port or (TLS_PORT if use_tls else AGENT_PLAIN_PORT),
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
    write_atomic(out / "trusted-keys.json", json.dumps(keys_doc, indent=2) + "\n", 0o644)
    if use_tls:
        shutil.copyfile(broker.ca_cert, out / "ca.crt")
        os.chmod(out / "ca.crt", 0o644)
    else:
        (out / "ca.crt").unlink(missing_ok=True)  # from an earlier TLS bundle
    logger.info("provisioned site %s (zones %s) into %s", site, ",".join(zones) or "-", out)
    return Bundle(site, out, config, password)


def ensure_server_user(broker: BrokerFiles, username: str, password: str) -> bool:
    """Make sure the server's own MQTT user exists (from its settings) in the server listener's
    password file, and not in the agents' (where files from before issue 10 had it); True if
    written."""
    if username in broker.users():
        broker.remove_user(username)
    if not password or username in broker.server_users():
        return False
    broker.set_password(username, password, server=True)
    return True
