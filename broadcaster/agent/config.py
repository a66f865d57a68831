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

from broadcaster.wire.topics import valid_id

PLAYERS = ("mpv", "file")


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
    topic_root: str = "loa/v1"
    player: str = "mpv"  # "mpv" plays on the speaker; "file" writes WAVs (demo, tests)
    output_dir: str = ""  # where the file player writes WAVs
    late_grace_s: float = 30.0
    http_timeout_s: float = 15.0
    keepalive_s: int = 30

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
        if not self.topic_root or self.topic_root.endswith("/") or "#" in self.topic_root:
            raise ConfigError(f"topic_root {self.topic_root!r} is not a valid topic prefix")
        if self.late_grace_s < 0 or self.http_timeout_s <= 0 or self.keepalive_s < 5:
            raise ConfigError("late_grace_s, http_timeout_s or keepalive_s is out of range")

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

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write the config as TOML (owner-only: it holds the MQTT password)."""
        lines = ["# broadcaster agent configuration"]
        for f in fields(self):
            lines.append(f"{f.name} = {_toml_value(getattr(self, f.name))}")
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


_TYPES: dict[str, type] = {
    "site": str,
    "state_dir": str,
    "trusted_keys": tuple,
    "zones": tuple,
    "mqtt_host": str,
    "mqtt_port": int,
    "mqtt_username": str,
    "mqtt_password": str,
    "topic_root": str,
    "player": str,
    "output_dir": str,
    "late_grace_s": float,
    "http_timeout_s": float,
    "keepalive_s": int,
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
