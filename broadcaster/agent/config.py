"""The agent's configuration: a frozen dataclass read from and written to a small TOML file.

Unknown keys are rejected with a message naming the key and its line, so a typo in a Pi's
config file never goes unnoticed. ``dump`` writes TOML by hand because ``tomllib`` only reads.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from broadcaster.mqtt import MqttConfigError, MqttOptions
from broadcaster.wire.topics import valid_id

PLAYERS = ("mpv", "aplay", "file")


class ConfigError(ValueError):
    """A configuration key is unknown, missing, of the wrong type, or out of range."""


@dataclass(frozen=True)
class AgentConfig:
    """Everything one Pi agent needs. Sequences are stored as tuples (the config is frozen)."""

    site: str
    state_dir: str
    trusted_keys: Sequence[str]  # base64 raw Ed25519 public keys of the server (a tuple)
    zones: Sequence[str] = ()  # stored as a tuple
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_protocol: str = "5"  # "5" | "3.1.1"
    mqtt_tls: bool = False  # TLS to the broker (port 8883 by convention)
    mqtt_ca_file: str = ""  # CA certificate that signed the broker's; "" = the system's CAs
    mqtt_cert_file: str = ""  # client certificate (PEM) when the broker asks for one
    mqtt_key_file: str = ""  # its private key; "" = inside mqtt_cert_file
    # Other nodes of a broker cluster, "host:port,host:port", tried in turn after mqtt_host
    mqtt_fallback_brokers: str = ""
    # QoS of the agent's subscriptions and of its events: 1, or 0 on a NATS 2.9 cluster, where
    # each QoS 1 subscription is a replicated JetStream consumer and each QoS 1 publish a
    # replicated store (`broadcaster sites provision` with broker_kind "nats" writes 0). What
    # QoS 1 adds is kept end to end without it: keys and plans are retained, events stay in the
    # outbox until acked, emergencies are re-sent to a silent site (docs/decisions.md, "NATS:
    # agents at QoS 0"). The retained status stays QoS 1.
    mqtt_qos: int = 1
    topic_root: str = "loa/v1"
    player: str = "mpv"  # "mpv"/"aplay" play on the speaker; "file" writes WAVs (demo, tests)
    output_dir: str = ""  # where the file player writes WAVs
    alsa_device: str = ""  # aplay -D device ("" = default)
    late_grace_s: float = 30.0
    http_timeout_s: float = 15.0
    keepalive_s: int = 30
    heartbeat_s: float = 60.0  # retained status with health this often
    cache_max_bytes: int = 2 * 1024**3  # media cache budget (LRU); 0 = unbounded
    prefetch_horizon_h: float = 48.0
    prefetch_retry_s: float = 5.0  # first retry after a failed download, doubling…
    prefetch_max_retry_s: float = 600.0  # …up to this
    relay_pin: int = -1  # BCM GPIO of the amplifier relay; -1 = no relay
    relay_active_low: bool = False
    relay_pre_roll_s: float = 1.0  # relay on this long before a start
    relay_post_roll_s: float = 5.0  # and off this long after the last item
    mixer_control: str = "Master"  # amixer control for per-item volume
    mixer_card: str = ""  # amixer -c card ("" = default)
    default_volume: int = -1  # set at start (0..100); -1 = leave the mixer as it is

    def __post_init__(self) -> None:
        # Accept lists from callers and TOML; keep tuples so the frozen config stays immutable.
        for name in ("zones", "trusted_keys"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ConfigError(f"{name} must be a list of strings")
            object.__setattr__(self, name, tuple(value))
        self._validate()

    def _validate(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _TYPES[f.name]
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
                continue
            if expected is tuple:
                if not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{f.name} must be a list of strings")
                continue
            if expected is bool:
                if not isinstance(value, bool):
                    raise ConfigError(f"{f.name} must be true or false, not {value!r}")
                continue
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(f"{f.name} must be of type {expected.__name__}, not {value!r}")
        if not valid_id(self.site):
            raise ConfigError(f"site {self.site!r} is not a lowercase slug")
        for zone in self.zones:
            if not valid_id(zone):
                raise ConfigError(f"zone {zone!r} is not a lowercase slug")
        if not self.state_dir:
            raise ConfigError("state_dir must be set")
        if not self.trusted_keys:
            raise ConfigError("trusted_keys must hold at least one server public key")
        for key in self.trusted_keys:
            try:
                raw = base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ConfigError(f"trusted key {key!r} is not a base64 Ed25519 public key")
        if self.player not in PLAYERS:
            raise ConfigError(f"player must be one of {', '.join(PLAYERS)}, not {self.player!r}")
        if self.player == "file" and not self.output_dir:
            raise ConfigError("the file player needs output_dir")
        if not 0 < self.mqtt_port < 65536:
            raise ConfigError(f"mqtt_port {self.mqtt_port} is out of range")
        if self.mqtt_qos not in (0, 1):
            raise ConfigError(f"mqtt_qos must be 0 or 1, not {self.mqtt_qos!r}")
        if not self.topic_root or self.topic_root.endswith("/") or "#" in self.topic_root:
            raise ConfigError(f"topic_root {self.topic_root!r} is not a valid topic prefix")
        if self.late_grace_s < 0 or self.http_timeout_s <= 0 or self.keepalive_s < 5:
            raise ConfigError("late_grace_s, http_timeout_s or keepalive_s is out of range")
        if self.heartbeat_s < 1 or self.cache_max_bytes < 0 or self.prefetch_horizon_h <= 0:
            raise ConfigError("heartbeat_s, cache_max_bytes or prefetch_horizon_h is out of range")
        if not 0 < self.prefetch_retry_s <= self.prefetch_max_retry_s:
            raise ConfigError("prefetch_retry_s must be > 0 and <= prefetch_max_retry_s")
        if self.relay_pin < -1 or self.relay_pin > 63:
            raise ConfigError(f"relay_pin {self.relay_pin} is not a GPIO number (or -1)")
        if self.relay_pre_roll_s < 0 or self.relay_post_roll_s < 0:
            raise ConfigError("relay_pre_roll_s and relay_post_roll_s must be >= 0")
        if not -1 <= self.default_volume <= 100:
            raise ConfigError("default_volume must be -1 or 0..100")
        try:
            self.mqtt_options().validate()
        except MqttConfigError as exc:
            raise ConfigError(str(exc)) from None

    def mqtt_options(self) -> MqttOptions:
        """How this agent connects to the broker."""
        return MqttOptions.from_config(self, keepalive_s=self.keepalive_s)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    def replace(self, **changes: Any) -> AgentConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> AgentConfig:
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{source}: unknown key {key!r}")
        missing = [
            f.name for f in fields(cls) if f.default is dataclasses.MISSING and f.name not in data
        ]
        if missing:
            raise ConfigError(f"{source}: missing key(s) {', '.join(missing)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AgentConfig:
        """Read a TOML file; errors name the file, and the line of an unknown key."""
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from None
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{p}:{_line_of(text, key)}: unknown key {key!r}")
        try:
            return cls.from_dict(data, str(p))
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None
        except TypeError as exc:
            raise ConfigError(f"{p}: {exc}") from None

    def to_toml(self) -> str:
        """The config as TOML text (what ``dump`` writes)."""
        lines = ["# broadcaster agent configuration"]
        for f in fields(self):
            lines.append(f"{f.name} = {_toml_value(getattr(self, f.name))}")
        return "\n".join(lines) + "\n"

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write the config as TOML (owner-only: it holds the MQTT password)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.to_toml())


_TYPES: dict[str, type] = {
    "site": str,
    "state_dir": str,
    "trusted_keys": tuple,
    "zones": tuple,
    "mqtt_host": str,
    "mqtt_port": int,
    "mqtt_username": str,
    "mqtt_password": str,
    "mqtt_protocol": str,
    "mqtt_tls": bool,
    "mqtt_ca_file": str,
    "mqtt_cert_file": str,
    "mqtt_key_file": str,
    "mqtt_fallback_brokers": str,
    "mqtt_qos": int,
    "topic_root": str,
    "player": str,
    "output_dir": str,
    "alsa_device": str,
    "late_grace_s": float,
    "http_timeout_s": float,
    "keepalive_s": int,
    "heartbeat_s": float,
    "cache_max_bytes": int,
    "prefetch_horizon_h": float,
    "prefetch_retry_s": float,
    "prefetch_max_retry_s": float,
    "relay_pin": int,
    "relay_active_low": bool,
    "relay_pre_roll_s": float,
    "relay_post_roll_s": float,
    "mixer_control": str,
    "mixer_card": str,
    "default_volume": int,
}


def _toml_value(value: Any) -> str:
    # JSON string escapes (\" \\ \n \uXXXX ...) are valid TOML basic-string escapes.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _line_of(text: str, key: str) -> int | str:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return "?"
