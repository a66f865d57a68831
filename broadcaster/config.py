"""Typed server configuration: defaults, then a TOML file, then ``BROADCASTER_*`` variables.

Unknown keys are rejected with the key's name and the file line, so a typo never goes unnoticed.
The agent has its own, smaller config (``broadcaster.agent.config``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "BROADCASTER_"


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type, or out of range."""


@dataclass(frozen=True)
class Settings:
    # Storage
    database_url: str = "sqlite:///instance/broadcaster.sqlite3"
    media_dir: str = "instance/media"  # relative paths: to the working directory
    # Keys: the server's Ed25519 signing key (PEM). Created by `broadcaster keys generate`.
    signing_key_file: str = "instance/signing-key.pem"
    # MQTT
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str = ""
    mqtt_password: str = ""
    topic_root: str = "loa/v1"
    # Web
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8080"  # base URL agents fetch /media/ from
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    default_locale: str = "vi"
    # Scheduling
    timezone: str = "Asia/Ho_Chi_Minh"
    plan_horizon_hours: int = 48
    plan_publish_interval_s: float = 3.0
    # Audio
    tts_engine: str = "auto"  # gtts | espeak | auto (gtts, falling back to espeak)
    tts_timeout_s: float = 10.0
    max_text_chars: int = 5000

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> Settings:
        if self.tts_engine not in ("gtts", "espeak", "auto"):
            raise ConfigError(f"tts_engine must be gtts, espeak or auto, not {self.tts_engine!r}")
        if self.plan_horizon_hours < 1:
            raise ConfigError("plan_horizon_hours must be at least 1")
        if not self.topic_root or self.topic_root.endswith("/") or "#" in self.topic_root:
            raise ConfigError(f"topic_root {self.topic_root!r} is not a valid topic prefix")
        return self

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Defaults < file < environment < keyword overrides."""
        values: dict[str, Any] = {}
        if path is not None:
            values.update(_read_file(Path(path)))
        values.update(_read_env(os.environ if env is None else env))
        values.update(overrides)
        # Relative paths are relative to where the process starts, not to whichever module
        # happens to open them (Flask's send_file would resolve against the app package).
        for key in ("media_dir", "signing_key_file"):
            values[key] = os.path.abspath(values.get(key, _FIELDS[key].default))
        return cls(**values).validate()


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any, where: str) -> Any:
    ftype = _FIELDS[name].type
    try:
        if ftype == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if ftype == "float":
            return float(value)
        if ftype == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
    except ValueError:
        raise ConfigError(f"{where}: {name} must be {ftype}, got {value!r}") from None
    return value


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    lines = text.splitlines()
    out: dict[str, Any] = {}
    for key, value in data.items():
        line = next(
            (n for n, s in enumerate(lines, 1) if s.strip().startswith((key + " ", key + "="))),
            0,
        )
        if key not in _FIELDS:
            raise ConfigError(f"{path}:{line}: unknown setting {key!r}")
        out[key] = _coerce(key, value, f"{path}:{line}")
    return out


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key == "config":  # BROADCASTER_CONFIG names the file itself
            continue
        if key not in _FIELDS:
            raise ConfigError(f"environment: unknown setting {name}")
        out[key] = _coerce(key, value, f"environment {name}")
    return out
