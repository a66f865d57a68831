"""Protocol v1 message types: frozen dataclasses with to_dict/from_dict and validation.

Times on the wire are UTC, ISO 8601 with a ``Z`` suffix and millisecond precision.
``from_dict`` raises :class:`ProtocolError` for anything malformed, never another exception.
Optional fields added after the first release (``PlanItem.volume``/``stream``, ``Event.command``/
``late_ms``, the health fields of ``Status``) are written only when set, so a message without
them is byte-for-byte what an older peer sends, and older peers ignore them. See docs/protocol.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ProtocolError

SCHEMA = 1
PRIORITIES = ("normal", "priority", "emergency")
EVENT_KINDS = (
    "started",
    "finished",
    "failed",
    "skipped",
    "interrupted",
    "rejected",
    "expired",
    "received",  # an agent accepted a command (play: the item is queued and plays at once)
)
COMMAND_ACTIONS = ("play", "stop", "volume", "ping")
# Every command expires; agents refuse one that claims to live longer than this, so the ids they
# remember against replays can be forgotten a day after expiry.
MAX_COMMAND_TTL = timedelta(hours=24)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
TARGET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # same as wire.topics.valid_id


def to_wire_time(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_wire_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError("malformed", f"{name}: expected a time string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError("malformed", f"{name}: bad time {value!r}") from None
    if dt.tzinfo is None:
        raise ProtocolError("malformed", f"{name}: time without timezone")
    return dt.astimezone(UTC)


def _require(d: Any, key: str, kind: type | tuple[type, ...], name: str) -> Any:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", f"{name}: expected an object")
    if key not in d:
        raise ProtocolError("malformed", f"{name}: missing {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError("malformed", f"{name}.{key}: wrong type")
    return value


def _optional(d: dict[str, Any], key: str, kind: type | tuple[type, ...], name: str) -> Any:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError("malformed", f"{name}.{key}: wrong type")
    return value


def _check_header(d: Any, expected_type: str) -> None:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", "payload is not an object")
    if d.get("v") != SCHEMA:
        raise ProtocolError("unsupported-version", f"schema {d.get('v')!r}")
    if d.get("type") != expected_type:
        raise ProtocolError("wrong-type", f"expected {expected_type}, got {d.get('type')!r}")


@dataclass(frozen=True)
class Media:
    sha256: str
    url: str
    size: int
    duration_ms: int

    @classmethod
    def from_dict(cls, d: Any) -> Media:
        sha = _require(d, "sha256", str, "media")
        if not SHA256_RE.match(sha):
            raise ProtocolError("malformed", "media.sha256: not a sha256 hex digest")
        url = _require(d, "url", str, "media")
        if not url.startswith(("http://", "https://")):
            raise ProtocolError("malformed", "media.url: not http(s)")
        return cls(
            sha256=sha,
            url=url,
            size=_require(d, "size", int, "media"),
            duration_ms=_require(d, "duration_ms", int, "media"),
        )


@dataclass(frozen=True)
class Stream:
    """A live HTTP audio stream (provincial or national radio) relayed for ``duration_ms``."""

    url: str
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "duration_ms": self.duration_ms}

    @classmethod
    def from_dict(cls, d: Any) -> Stream:
        url = _require(d, "url", str, "stream")
        if not url.startswith(("http://", "https://")):
            raise ProtocolError("malformed", "stream.url: not http(s)")
        duration = _require(d, "duration_ms", int, "stream")
        if not 0 < duration <= 24 * 3600 * 1000:
            raise ProtocolError("malformed", "stream.duration_ms: out of range")
        return cls(url=url, duration_ms=duration)


@dataclass(frozen=True)
class PlanItem:
    """One thing to play at one time at one site.

    ``media`` is always required: for a stream relay item it is the stored fallback played when
    the stream fails (and what an agent that does not know streams plays instead).
    """

    id: str  # stable id of this scheduled occurrence, e.g. "occ-42"
    start: datetime  # UTC
    title: str
    announcement_id: int
    priority: str
    media: Media
    volume: int | None = None  # 0..100 (ALSA mixer percent); None: the agent's current volume
    stream: Stream | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "start": to_wire_time(self.start),
            "title": self.title,
            "announcement_id": self.announcement_id,
            "priority": self.priority,
            "media": asdict(self.media),
        }
        if self.volume is not None:
            d["volume"] = self.volume
        if self.stream is not None:
            d["stream"] = self.stream.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any) -> PlanItem:
        priority = _require(d, "priority", str, "item")
        if priority not in PRIORITIES:
            raise ProtocolError("malformed", f"item.priority: {priority!r}")
        volume = _optional(d, "volume", int, "item")
        if volume is not None and not 0 <= volume <= 100:
            raise ProtocolError("malformed", "item.volume: out of range 0..100")
        stream = d.get("stream")
        return cls(
            id=_require(d, "id", str, "item"),
            start=from_wire_time(_require(d, "start", str, "item"), "item.start"),
            title=_require(d, "title", str, "item"),
            announcement_id=_require(d, "announcement_id", int, "item"),
            priority=priority,
            media=Media.from_dict(_require(d, "media", dict, "item")),
            volume=volume,
            stream=Stream.from_dict(stream) if stream is not None else None,
        )


@dataclass(frozen=True)
class Plan:
    """A site's whole upcoming plan. Newer versions replace older ones atomically."""

    site: str
    version: int
    issued_at: datetime
    expires_at: datetime
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA,
            "type": "plan",
            "site": self.site,
            "version": self.version,
            "issued_at": to_wire_time(self.issued_at),
            "expires_at": to_wire_time(self.expires_at),
            "items": [i.to_dict() for i in self.items],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Plan:
        _check_header(d, "plan")
        items = _require(d, "items", list, "plan")
        return cls(
            site=_require(d, "site", str, "plan"),
            version=_require(d, "version", int, "plan"),
            issued_at=from_wire_time(d.get("issued_at"), "plan.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "plan.expires_at"),
            items=tuple(PlanItem.from_dict(i) for i in items),
        )


def _targets(d: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = d.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("malformed", f"{name}.{key}: expected a list of ids")
    return tuple(value)


@dataclass(frozen=True)
class Command:
    """Server→agent, signed, never retained: act now at every site of ``sites`` and ``zones``.

    ``seq`` only moves forward (the publisher uses ``max(last + 1, now in ms)``); an agent refuses
    a command whose id it has seen or whose seq is not above the last one it accepted. Every
    command expires; an expired one is reported (event ``expired``) and never acted on.

    Actions: ``play`` (``item`` plays at once; an emergency interrupts whatever plays),
    ``stop`` (stops ``item_id``, or whatever plays when it is None), ``volume`` (sets the default
    ``volume`` 0..100) and ``ping`` (answered by a ``received`` event).
    """

    id: str  # UUID4
    seq: int
    action: str
    issued_at: datetime
    expires_at: datetime
    sites: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    item: PlanItem | None = None  # play
    item_id: str | None = None  # stop: only this item
    volume: int | None = None  # volume
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", tuple(self.sites))
        object.__setattr__(self, "zones", tuple(self.zones))

    def validate(self) -> Command:
        """Raise ProtocolError("malformed", …) unless the command is well-formed."""
        if not ID_RE.match(self.id):
            raise ProtocolError("malformed", "command.id: not an id")
        if self.seq < 1:
            raise ProtocolError("malformed", "command.seq must be >= 1")
        if self.action not in COMMAND_ACTIONS:
            raise ProtocolError("malformed", f"command.action: {self.action!r}")
        if not self.sites and not self.zones:
            raise ProtocolError("malformed", "command: no target site or zone")
        for target in (*self.sites, *self.zones):
            if not TARGET_RE.match(target):
                raise ProtocolError("malformed", f"command: bad target id {target!r}")
        if self.expires_at <= self.issued_at:
            raise ProtocolError("malformed", "command: expires_at is not after issued_at")
        if self.expires_at - self.issued_at > MAX_COMMAND_TTL:
            raise ProtocolError("malformed", f"command: lives longer than {MAX_COMMAND_TTL}")
        if self.action == "play" and self.item is None:
            raise ProtocolError("malformed", "command: play without an item")
        if self.action == "volume" and (self.volume is None or not 0 <= self.volume <= 100):
            raise ProtocolError("malformed", "command: volume needs volume 0..100")
        if self.item is not None and not ID_RE.match(self.item.id):
            raise ProtocolError("malformed", "command.item.id: not an id")
        return self

    def targets(self, site: str, zones: Iterable[str] = ()) -> bool:
        """Whether a site (in ``zones``) is one of this command's targets."""
        return site in self.sites or any(z in self.zones for z in zones)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": SCHEMA,
            "type": "command",
            "id": self.id,
            "seq": self.seq,
            "action": self.action,
            "issued_at": to_wire_time(self.issued_at),
            "expires_at": to_wire_time(self.expires_at),
            "sites": list(self.sites),
            "zones": list(self.zones),
            "reason": self.reason,
        }
        if self.item is not None:
            d["item"] = self.item.to_dict()
        if self.item_id is not None:
            d["item_id"] = self.item_id
        if self.volume is not None:
            d["volume"] = self.volume
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Command:
        _check_header(d, "command")
        item = d.get("item")
        reason = d.get("reason", "")
        if not isinstance(reason, str):
            raise ProtocolError("malformed", "command.reason: wrong type")
        return cls(
            id=_require(d, "id", str, "command"),
            seq=_require(d, "seq", int, "command"),
            action=_require(d, "action", str, "command"),
            issued_at=from_wire_time(d.get("issued_at"), "command.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "command.expires_at"),
            sites=_targets(d, "sites", "command"),
            zones=_targets(d, "zones", "command"),
            item=PlanItem.from_dict(item) if item is not None else None,
            item_id=_optional(d, "item_id", str, "command"),
            volume=_optional(d, "volume", int, "command"),
            reason=reason[:500],
        ).validate()


@dataclass(frozen=True)
class KeysUpdate:
    """Server→all agents, signed by a key the agents already trust, retained on ``…/keys``:
    the complete list of trusted server public keys (base64 raw Ed25519). ``version`` only moves
    forward; an agent replaces its list with a newer one (key rotation without touching a Pi)."""

    version: int
    issued_at: datetime
    expires_at: datetime
    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(self.keys))

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA,
            "type": "keys",
            "version": self.version,
            "issued_at": to_wire_time(self.issued_at),
            "expires_at": to_wire_time(self.expires_at),
            "keys": list(self.keys),
        }

    @classmethod
    def from_dict(cls, d: Any) -> KeysUpdate:
        _check_header(d, "keys")
        keys = _targets(d, "keys", "keys")
        if not keys:
            raise ProtocolError("malformed", "keys: empty key list")
        for key in keys:
            try:
                raw = base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ProtocolError("malformed", f"keys: {key!r} is not an Ed25519 public key")
        version = _require(d, "version", int, "keys")
        if version < 1:
            raise ProtocolError("malformed", "keys.version must be >= 1")
        return cls(
            version=version,
            issued_at=from_wire_time(d.get("issued_at"), "keys.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "keys.expires_at"),
            keys=keys,
        )


@dataclass(frozen=True)
class Event:
    """A playback event, agent→server. ``seq`` is per (site, outbox) and contiguous."""

    id: str  # UUID4
    site: str
    outbox: str  # id of the agent's outbox; seq restarts only with a new outbox
    seq: int
    kind: str
    at: datetime
    item_id: str | None = None
    announcement_id: int | None = None
    scheduled_at: datetime | None = None
    detail: str = ""
    command: str | None = None  # id of the command this event answers or comes from
    late_ms: int | None = None  # on "started": how late the start was against its due time

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": SCHEMA,
            "type": "event",
            "id": self.id,
            "site": self.site,
            "outbox": self.outbox,
            "seq": self.seq,
            "kind": self.kind,
            "at": to_wire_time(self.at),
            "item_id": self.item_id,
            "announcement_id": self.announcement_id,
            "scheduled_at": to_wire_time(self.scheduled_at) if self.scheduled_at else None,
            "detail": self.detail,
        }
        if self.command is not None:
            d["command"] = self.command
        if self.late_ms is not None:
            d["late_ms"] = self.late_ms
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Event:
        _check_header(d, "event")
        kind = _require(d, "kind", str, "event")
        if kind not in EVENT_KINDS:
            raise ProtocolError("malformed", f"event.kind: {kind!r}")
        seq = _require(d, "seq", int, "event")
        if seq < 1:
            raise ProtocolError("malformed", "event.seq must be >= 1")
        item_id = d.get("item_id")
        ann = d.get("announcement_id")
        sched = d.get("scheduled_at")
        detail = d.get("detail", "")
        if item_id is not None and not isinstance(item_id, str):
            raise ProtocolError("malformed", "event.item_id: wrong type")
        if ann is not None and (not isinstance(ann, int) or isinstance(ann, bool)):
            raise ProtocolError("malformed", "event.announcement_id: wrong type")
        if not isinstance(detail, str):
            raise ProtocolError("malformed", "event.detail: wrong type")
        command = _optional(d, "command", str, "event")
        late_ms = _optional(d, "late_ms", int, "event")
        return cls(
            id=_require(d, "id", str, "event")[:64],
            site=_require(d, "site", str, "event"),
            outbox=_require(d, "outbox", str, "event")[:64],
            seq=seq,
            kind=kind,
            at=from_wire_time(d.get("at"), "event.at"),
            item_id=item_id,
            announcement_id=ann,
            scheduled_at=from_wire_time(sched, "event.scheduled_at") if sched else None,
            detail=detail[:1000],
            command=command[:64] if command is not None else None,
            late_ms=late_ms,
        )


@dataclass(frozen=True)
class Ack:
    """Server→agent: every event of ``outbox`` up to ``seq`` is stored."""

    site: str
    outbox: str
    seq: int
    issued_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA,
            "type": "ack",
            "site": self.site,
            "outbox": self.outbox,
            "seq": self.seq,
            "issued_at": to_wire_time(self.issued_at),
        }

    @classmethod
    def from_dict(cls, d: Any) -> Ack:
        _check_header(d, "ack")
        return cls(
            site=_require(d, "site", str, "ack"),
            outbox=_require(d, "outbox", str, "ack"),
            seq=_require(d, "seq", int, "ack"),
            issued_at=from_wire_time(d.get("issued_at"), "ack.issued_at"),
        )


@dataclass(frozen=True)
class Status:
    """Agent→server, retained. The MQTT last will publishes ``state="offline"``."""

    site: str
    state: str  # "online" | "offline"
    at: datetime
    plan_version: int = 0
    agent_version: str = ""
    detail: str = ""
    # Heartbeat health (optional; written only when known).
    uptime_s: int | None = None  # since the agent process started
    cache_bytes: int | None = None  # bytes of media in the local cache
    disk_free_bytes: int | None = None  # free bytes on the agent's state filesystem
    cpu_temp_c: float | None = None  # where /sys/class/thermal is readable
    clock_offset_ms: float | None = None  # NTP offset the kernel reports (adjtimex)
    clock_synced: bool | None = None  # the kernel's clock is NTP-synchronized
    keys_version: int | None = None  # version of the trusted-keys list in use
    volume: int | None = None  # the agent's current default volume (0..100)
    last_error: str = ""

    HEALTH = (
        "uptime_s",
        "cache_bytes",
        "disk_free_bytes",
        "cpu_temp_c",
        "clock_offset_ms",
        "clock_synced",
        "keys_version",
        "volume",
    )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": SCHEMA,
            "type": "status",
            "site": self.site,
            "state": self.state,
            "at": to_wire_time(self.at),
            "plan_version": self.plan_version,
            "agent_version": self.agent_version,
            "detail": self.detail,
        }
        for name in self.HEALTH:
            value = getattr(self, name)
            if value is not None:
                d[name] = value
        if self.last_error:
            d["last_error"] = self.last_error
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Status:
        _check_header(d, "status")
        state = _require(d, "state", str, "status")
        if state not in ("online", "offline"):
            raise ProtocolError("malformed", f"status.state: {state!r}")
        plan_version = d.get("plan_version", 0)
        if not isinstance(plan_version, int) or isinstance(plan_version, bool):
            raise ProtocolError("malformed", "status.plan_version: wrong type")
        synced = d.get("clock_synced")
        if synced is not None and not isinstance(synced, bool):
            raise ProtocolError("malformed", "status.clock_synced: wrong type")
        temp = _optional(d, "cpu_temp_c", (int, float), "status")
        offset = _optional(d, "clock_offset_ms", (int, float), "status")
        return cls(
            site=_require(d, "site", str, "status"),
            state=state,
            at=from_wire_time(d.get("at"), "status.at"),
            plan_version=plan_version,
            agent_version=str(d.get("agent_version") or "")[:64],
            detail=str(d.get("detail") or "")[:1000],
            uptime_s=_optional(d, "uptime_s", int, "status"),
            cache_bytes=_optional(d, "cache_bytes", int, "status"),
            disk_free_bytes=_optional(d, "disk_free_bytes", int, "status"),
            cpu_temp_c=float(temp) if temp is not None else None,
            clock_offset_ms=float(offset) if offset is not None else None,
            clock_synced=synced,
            keys_version=_optional(d, "keys_version", int, "status"),
            volume=_optional(d, "volume", int, "status"),
            last_error=str(d.get("last_error") or "")[:1000],
        )


def now_utc() -> datetime:
    return datetime.now(UTC)
