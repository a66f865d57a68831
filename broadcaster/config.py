"""Typed server configuration: defaults, then a TOML file, then ``BROADCASTER_*`` variables.

Unknown keys are rejected with the key's name and the file line, so a typo never goes unnoticed.
The agent has its own, smaller config (``broadcaster.agent.config``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broadcaster.mqtt import MqttOptions

ENV_PREFIX = "BROADCASTER_"
# BROADCASTER_TEST_* variables belong to the test suite (README), never to a server's settings.
TEST_ENV_KEY_PREFIX = "test_"
TTS_ENGINES = ("gtts", "espeak", "piper", "offline", "auto")
TTS_VOICES = ("north", "central", "south")
AUDIO_FORMATS = ("mp3", "opus")
# Paths anchored at the working directory when relative.
BROKER_KINDS = ("mosquitto", "nats")  # what `sites provision` writes users and permissions for
PATH_KEYS = (
    "media_dir",
    "signing_key_file",
    "render_cache_dir",
    "broker_dir",
    "live_listeners_file",
    "live_dir",
)
# Paths anchored at the working directory when set (empty means "none").
OPTIONAL_PATH_KEYS = ("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file")
# Secrets: a value from an example file (or a short one) would let anyone who read the example
# forge logins (secret_key signs the session cookie) or speak to the broker as the server.
MIN_SECRET_KEY_CHARS = 32
MIN_MQTT_PASSWORD_CHARS = 16
MIN_METRICS_TOKEN_CHARS = 16
PLACEHOLDER_RE = re.compile(
    r"change[-_ ]?me|changeit|replace[-_ ]?me|paste|example|your[-_ ]", re.I
)
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105 - a command, not a secret
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


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
    mqtt_protocol: str = "5"  # "5" | "3.1.1"
    mqtt_tls: bool = False  # TLS to the broker (port 8883 by convention)
    mqtt_ca_file: str = ""  # CA that signed the broker's certificate; "" = the system's CAs
    mqtt_cert_file: str = ""  # client certificate (PEM) when the broker asks for one
    mqtt_key_file: str = ""  # its private key; "" = inside mqtt_cert_file
    # Other nodes of a broker cluster, "host:port,host:port", tried in turn after mqtt_host
    mqtt_fallback_brokers: str = ""
    topic_root: str = "loa/v1"
    # The Mosquitto files the `sites` commands write (passwords, ACLs, agents.json, certificates);
    # deploy/mosquitto/broadcaster.conf reads them from /etc/mosquitto/broadcaster.
    broker_dir: str = "instance/mosquitto"
    # The broker the `sites` commands write users and permissions for: "mosquitto" (password
    # files and ACLs) or "nats" (a users file each NATS node includes); see deploy/BROKERS.md.
    broker_kind: str = "mosquitto"
    # This ingest process's name: its MQTT client id is broadcaster-ingest-<ingest_worker>; a
    # lone worker's persistent session keeps events queued while it restarts (workers sharing a
    # group take clean sessions). Unique per ingest process.
    ingest_worker: str = "1"
    # "" (a commune: one ingest worker): it subscribes to each site's topics, so a flooding
    # site can be left out at the broker. Several workers share the agents' events through the
    # MQTT shared subscription $share/<ingest_group>/…, each event going to one worker (not on a
    # broker without shared subscriptions, e.g. NATS 2.9: see ingest_nats_servers).
    ingest_group: str = ""
    # On a NATS cluster: its NATS-protocol URLs, "nats://host:4222,..." (tls:// for TLS, checked
    # against mqtt_ca_file; the login is mqtt_username/mqtt_password). Workers then take the
    # agents' events from NATS's queue group <ingest_group> instead of an MQTT subscription
    # (broadcaster.nats_queue); statuses and acks stay on MQTT. "" = MQTT only.
    ingest_nats_servers: str = ""
    # Per-site limit at ingest (broadcaster.ingest_limits): messages a second, and the burst a
    # site may send at once (an agent back from a long outage resends its whole outbox: the
    # excess waits for its next resend). A flooding site's excess is dropped on arrival.
    ingest_site_rate: float = 20.0
    ingest_site_burst: int = 600
    # Web
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8080"  # base URL agents fetch /media/ from
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    default_locale: str = "vi"
    # Login sessions (server-side, revoked at logout): idle and absolute lifetime
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    # Login throttling: failed logins counted over a sliding window, per account and per address
    login_window_minutes: int = 15
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    # Scheduling
    timezone: str = "Asia/Ho_Chi_Minh"
    plan_horizon_hours: int = 48
    plan_publish_interval_s: float = 3.0
    # Emergencies: a site that has not confirmed a command this long after it was sent gets it
    # again (same id) and raises an alert; the scheduler checks every emergency_check_interval_s
    emergency_resend_after_s: float = 30.0
    emergency_check_interval_s: float = 5.0
    # Live sessions (issue 14): the Icecast the web feeds (source) and agents listen to
    # (public, a URL agents reach); its listeners' password file, which the web process writes;
    # a stream silent this long is stopped at the agents; the longest session
    live_icecast_source_url: str = ""  # icecast://source:<password>@127.0.0.1:8000; empty: off
    live_icecast_public_url: str = ""  # e.g. http://server:8000
    live_listeners_file: str = "instance/icecast-listeners"
    live_stall_s: int = 5
    live_max_s: int = 3600
    live_dir: str = "instance/live"  # each session's archive while it runs
    # Reports: the scheduler brings the daily roll-ups up to date this often (a report also
    # refreshes what is still pending before it reads)
    rollup_refresh_interval_s: float = 60.0
    # Retention (`broadcaster media prune`, `broadcaster db prune`), which the scheduler also
    # runs every prune_interval_s (0: only the commands do). Media no row names (previews never
    # saved) goes once unused for media_prune_grace_hours; a row nothing references (audio an
    # edit replaced), and its file, once a pass has seen it so that long. Ingest's refused
    # messages go once older than rejected_messages_keep_days (0: kept for ever).
    prune_interval_s: float = 3600.0
    media_prune_grace_hours: int = 168
    rejected_messages_keep_days: int = 90
    # Audio
    # gtts | espeak | piper | offline (piper when installed, else espeak) | auto (gtts, then offline)
    tts_engine: str = "auto"
    tts_timeout_s: float = 10.0
    max_text_chars: int = 5000
    tts_voice: str = "north"  # espeak-ng's regional Vietnamese voice: north | central | south
    # Per-commune voices overriding tts_voice, e.g. "Xã Đắk Hà=central; Phường 5=south"
    commune_voices: str = ""
    piper_model: str = ""  # a Piper voice model (.onnx) an admin installed; empty: no Piper
    piper_executable: str = "piper"
    render_cache_dir: str = "instance/render-cache"  # synthesized sentences, by engine and voice
    render_cache_max_bytes: int = 512 * 1024 * 1024
    loudness_target_lufs: float = -16.0  # integrated loudness of every mastered file
    true_peak_db: float = -1.5  # true-peak ceiling (dBTP)
    audio_format: str = "mp3"  # mp3 | opus
    audio_bitrate: str = "64k"
    recording_max_bytes: int = 20 * 1024 * 1024  # uploaded or browser-recorded voice clips
    recording_max_seconds: float = 600.0
    # A standby scheduler tries the scheduler lock this often (takes over within this time)
    scheduler_lock_poll_s: float = 2.0
    # Site-health alerts (checked by the scheduler process every alert_check_interval_s)
    alert_check_interval_s: float = 60.0
    alert_offline_after_s: int = 1800
    alert_failures_24h: int = 3
    alert_stale_plan_after_s: int = 900
    alert_clock_drift_ms: int = 2000
    alert_webhook_url: str = ""  # POSTed a JSON body per change; empty: no webhook
    alert_smtp_host: str = ""  # empty: no e-mail
    alert_smtp_port: int = 25
    alert_email_from: str = "broadcaster@localhost"
    alert_email_to: str = ""  # comma-separated
    # Workflow notices (schedules/notices.py): approvers hear that an announcement waits, its
    # author that it was rejected, by e-mail (the alert_smtp_* server, to each user's email)
    # and by a JSON POST here (recipients with their phone numbers: an SMS or Zalo gateway).
    notify_webhook_url: str = ""
    notify_check_interval_s: float = 15.0
    # JSON API bearer tokens for district/provincial systems, comma-separated (>= 16 chars each)
    api_tokens: str = ""
    # Prometheus metrics (docs: deploy/PROVINCE.md, "Monitoring"). The scheduler and each ingest
    # process serve /metrics on their own port (0 = off), bound to metrics_host; the web serves
    # /metrics to a request bearing metrics_token (empty = the route is off).
    metrics_host: str = "127.0.0.1"
    scheduler_metrics_port: int = 0
    ingest_metrics_port: int = 0
    metrics_token: str = ""

    def commune_voice_map(self) -> dict[str, str]:
        """``commune_voices`` as {commune name: voice}; a malformed entry is a ConfigError."""
        out: dict[str, str] = {}
        for entry in filter(None, (e.strip() for e in self.commune_voices.split(";"))):
            commune, sep, voice = entry.partition("=")
            if not sep or not commune.strip():
                raise ConfigError(f"commune_voices: {entry!r} is not 'commune name=voice'")
            out[commune.strip()] = voice.strip()
        return out

    def voice_for(self, commune: str) -> str:
        """The espeak-ng voice for announcements of ``commune``."""
        return self.commune_voice_map().get(commune, self.tts_voice)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def mqtt_options(self) -> MqttOptions:
        """How the server's processes connect to the broker."""
        from broadcaster.mqtt import MqttOptions

        return MqttOptions.from_config(self)

    def validate(self) -> Settings:
        if self.tts_engine not in TTS_ENGINES:
            raise ConfigError(
                f"tts_engine must be one of {', '.join(TTS_ENGINES)}, not {self.tts_engine!r}"
            )
        if self.tts_engine == "piper" and not self.piper_model:
            raise ConfigError("tts_engine is piper but piper_model (the voice model file) is empty")
        self._validate_audio()
        if self.plan_horizon_hours < 1:
            raise ConfigError("plan_horizon_hours must be at least 1")
        if self.emergency_resend_after_s <= 0 or self.emergency_check_interval_s <= 0:
            raise ConfigError(
                "emergency_resend_after_s and emergency_check_interval_s must be more than 0"
            )
        if self.rollup_refresh_interval_s <= 0:
            raise ConfigError("rollup_refresh_interval_s must be more than 0")
        self._validate_retention()
        if not self.topic_root or self.topic_root.endswith("/") or "#" in self.topic_root:
            raise ConfigError(f"topic_root {self.topic_root!r} is not a valid topic prefix")
        self._validate_mqtt()
        self.validate_secrets()
        self._validate_logins()
        self._validate_metrics()
        return self

    def _validate_retention(self) -> None:
        if self.prune_interval_s < 0:
            raise ConfigError(
                f"prune_interval_s must be 0 (off) or more, not {self.prune_interval_s}"
            )
        if self.media_prune_grace_hours < 1:
            raise ConfigError(
                f"media_prune_grace_hours must be at least 1, not {self.media_prune_grace_hours}"
            )
        if self.rejected_messages_keep_days < 0:
            raise ConfigError(
                "rejected_messages_keep_days must be 0 (keep for ever) or more, "
                f"not {self.rejected_messages_keep_days}"
            )

    def _validate_logins(self) -> None:
        for name in (
            "session_idle_minutes",
            "session_max_hours",
            "login_window_minutes",
            "login_max_failures_per_account",
            "login_max_failures_per_address",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")

    def validate_secrets(self) -> Settings:
        """A secret that is set must be long and not a placeholder (an empty one is checked by
        :meth:`require_web_secret` where it is needed)."""
        checks = (
            ("secret_key", self.secret_key, MIN_SECRET_KEY_CHARS),
            ("mqtt_password", self.mqtt_password, MIN_MQTT_PASSWORD_CHARS),
            ("metrics_token", self.metrics_token, MIN_METRICS_TOKEN_CHARS),
        )
        for name, value, least in checks:
            if not value:
                continue
            if placeholder := PLACEHOLDER_RE.search(value):
                raise ConfigError(
                    f"{name} looks like a placeholder (it contains {placeholder.group(0)!r}): "
                    f"set a random one, e.g. from: {GENERATE_SECRET}"
                )
            if len(value) < least:
                raise ConfigError(
                    f"{name} is {len(value)} characters long; at least {least} are needed, "
                    f"e.g. from: {GENERATE_SECRET}"
                )
        return self

    def require_web_secret(self) -> Settings:
        """The web UI signs its login sessions with ``secret_key``: it must be set (a random
        key per process would log users out at each restart and differ between processes)."""
        if not self.secret_key:
            raise ConfigError(
                f"secret_key is not set; the web UI needs one of at least "
                f"{MIN_SECRET_KEY_CHARS} characters, e.g. from: {GENERATE_SECRET}"
            )
        return self

    def _validate_metrics(self) -> None:
        for key in ("scheduler_metrics_port", "ingest_metrics_port"):
            if not 0 <= getattr(self, key) <= 65535:
                raise ConfigError(f"{key} must be 0 (off) or a port up to 65535")

    def _validate_mqtt(self) -> None:
        from broadcaster.mqtt import MqttConfigError

        try:
            self.mqtt_options().validate()
        except MqttConfigError as exc:
            raise ConfigError(str(exc)) from None
        if self.broker_kind not in BROKER_KINDS:
            raise ConfigError(
                f"broker_kind must be one of {', '.join(BROKER_KINDS)}, not {self.broker_kind!r}"
            )
        if self.ingest_site_rate <= 0 or self.ingest_site_burst < 1:
            raise ConfigError("ingest_site_rate and ingest_site_burst must be positive")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", self.ingest_worker):
            raise ConfigError(
                f"ingest_worker must be 1-32 letters, digits, '-' or '_', not {self.ingest_worker!r}"
            )
        if self.ingest_group and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", self.ingest_group):
            raise ConfigError(
                f"ingest_group must be empty or 1-32 letters, digits, '-' or '_', "
                f"not {self.ingest_group!r}"
            )
        if self.ingest_nats_servers:
            from broadcaster.nats_queue import parse_servers

            try:
                parse_servers(self.ingest_nats_servers)
            except ValueError as exc:
                raise ConfigError(f"ingest_nats_servers: {exc}") from None
            if not self.ingest_group:
                raise ConfigError("ingest_nats_servers needs ingest_group (the queue group)")

    def _validate_audio(self) -> None:
        for commune, voice in self.commune_voice_map().items():
            if voice not in TTS_VOICES:
                raise ConfigError(
                    f"commune_voices: {commune!r} has voice {voice!r}; one of {', '.join(TTS_VOICES)}"
                )
        if self.tts_voice not in TTS_VOICES:
            raise ConfigError(
                f"tts_voice must be one of {', '.join(TTS_VOICES)}, not {self.tts_voice!r}"
            )
        if self.audio_format not in AUDIO_FORMATS:
            raise ConfigError(f"audio_format must be mp3 or opus, not {self.audio_format!r}")
        if not re.fullmatch(r"[1-9][0-9]{0,2}k", self.audio_bitrate):
            raise ConfigError(f"audio_bitrate must look like 64k, not {self.audio_bitrate!r}")
        if not -40.0 <= self.loudness_target_lufs <= -5.0:
            raise ConfigError(
                f"loudness_target_lufs must be -40..-5 LUFS, not {self.loudness_target_lufs}"
            )
        if not -9.0 <= self.true_peak_db <= 0.0:
            raise ConfigError(f"true_peak_db must be -9..0 dBTP, not {self.true_peak_db}")
        if self.render_cache_max_bytes < 0:
            raise ConfigError("render_cache_max_bytes must be 0 or more")
        if self.recording_max_bytes < 1024:
            raise ConfigError("recording_max_bytes must be at least 1024")
        if not 1.0 <= self.recording_max_seconds <= 3600.0:
            raise ConfigError(
                f"recording_max_seconds must be 1..3600, not {self.recording_max_seconds}"
            )

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
        for key in PATH_KEYS:
            values[key] = os.path.abspath(values.get(key, _FIELDS[key].default))
        for key in OPTIONAL_PATH_KEYS:
            if values.get(key):
                values[key] = os.path.abspath(values[key])
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
        if ftype == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
                return value.strip().lower() in TRUE_WORDS
            raise ValueError
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
        if key.startswith(TEST_ENV_KEY_PREFIX):  # the test suite's own, e.g. TEST_POSTGRES_URL
            continue
        if key not in _FIELDS:
            raise ConfigError(f"environment: unknown setting {name}")
        out[key] = _coerce(key, value, f"environment {name}")
    return out
