"""Protocol v1 message types: frozen dataclasses with to_dict/from_dict and validation.

Times on the wire are UTC, ISO 8601 with a ``Z`` suffix and millisecond precision.
``from_dict`` raises :class:`ProtocolError` for anything malformed, never another exception.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
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
)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


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
class PlanItem:
    """One thing to play at one time at one site."""

    id: str  # stable id of this scheduled occurrence, e.g. "occ-42"
    start: datetime  # UTC
    title: str
    announcement_id: int
    priority: str
    media: Media

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": to_wire_time(self.start),
            "title": self.title,
            "announcement_id": self.announcement_id,
            "priority": self.priority,
            "media": asdict(self.media),
        }

    @classmethod
    def from_dict(cls, d: Any) -> PlanItem:
        priority = _require(d, "priority", str, "item")
        if priority not in PRIORITIES:
            raise ProtocolError("malformed", f"item.priority: {priority!r}")
        return cls(
            id=_require(d, "id", str, "item"),
            start=from_wire_time(_require(d, "start", str, "item"), "item.start"),
            title=_require(d, "title", str, "item"),
            announcement_id=_require(d, "announcement_id", int, "item"),
            priority=priority,
            media=Media.from_dict(_require(d, "media", dict, "item")),
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

    def to_dict(self) -> dict[str, Any]:
        return {
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA,
            "type": "status",
            "site": self.site,
            "state": self.state,
            "at": to_wire_time(self.at),
            "plan_version": self.plan_version,
            "agent_version": self.agent_version,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Status:
        _check_header(d, "status")
        state = _require(d, "state", str, "status")
        if state not in ("online", "offline"):
            raise ProtocolError("malformed", f"status.state: {state!r}")
        plan_version = d.get("plan_version", 0)
        if not isinstance(plan_version, int) or isinstance(plan_version, bool):
            raise ProtocolError("malformed", "status.plan_version: wrong type")
        return cls(
            site=_require(d, "site", str, "status"),
            state=state,
            at=from_wire_time(d.get("at"), "status.at"),
            plan_version=plan_version,
            agent_version=str(d.get("agent_version") or "")[:64],
            detail=str(d.get("detail") or "")[:1000],
        )


def now_utc() -> datetime:
    return datetime.now(UTC)
