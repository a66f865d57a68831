"""Protocol v1 event, ack and status messages: frozen dataclasses with to_dict/from_dict.

Times on the wire are UTC, ISO 8601 with a ``Z`` suffix and millisecond precision.
``from_dict`` raises :class:`ProtocolError` for anything malformed, never another exception.
Optional fields added after the first release (``PlanItem.volume``/``stream``, ``Event.command``/
``late_ms``, the health fields of ``Status``, ``Ack.batch_max``) are written only when set, so a
message without them is byte-for-byte what an older peer sends, and older peers ignore them. See docs/protocol.md.

Plans and priorities live in :mod:`.plan`, commands and keys updates in :mod:`.commands`, field
encoding in :mod:`.fields`: import each from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ProtocolError
from .fields import (
    ANNOUNCEMENT_ID,
    INT32,
    NATURAL,
    SCHEMA,
    SHORT,
    Bounds,
    check_header,
    from_wire_time,
    optional,
    require,
    to_wire_time,
)

DETAIL = Bounds(max_len=4000)  # longer details are cut to 1000 characters, as they always were
LATE_MS = Bounds(lo=-(10**12), hi=10**12)
PLAN_VERSION = Bounds(lo=0)
OFFSET_MS = Bounds(lo=-(10**9), hi=10**9)  # stored as INTEGER (rounded)
CPU_TEMP = Bounds(lo=-1000, hi=1000)

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
        check_header(d, "event")
        kind = require(d, "kind", str, "event", SHORT)
        if kind not in EVENT_KINDS:
            raise ProtocolError("malformed", f"event.kind: {kind!r}")
        sched = optional(d, "scheduled_at", str, "event", SHORT)
        detail = optional(d, "detail", str, "event", DETAIL) or ""
        return cls(
            id=require(d, "id", str, "event", SHORT),
            site=require(d, "site", str, "event", SHORT),
            outbox=require(d, "outbox", str, "event", SHORT),
            seq=require(d, "seq", int, "event", INT32),
            kind=kind,
            at=from_wire_time(d.get("at"), "event.at"),
            item_id=optional(d, "item_id", str, "event", SHORT),
            announcement_id=optional(d, "announcement_id", int, "event", ANNOUNCEMENT_ID),
            scheduled_at=from_wire_time(sched, "event.scheduled_at") if sched else None,
            detail=detail[:1000],
            command=optional(d, "command", str, "event", SHORT),
            late_ms=optional(d, "late_ms", int, "event", LATE_MS),
        )


@dataclass(frozen=True)
class Ack:
    """Server→agent: every event of ``outbox`` up to ``seq`` is stored. ``batch_max``: the
    server takes ``events`` batches of up to that many events (``broadcaster.wire.batches``);
    absent (an older server): single events only."""

    site: str
    outbox: str
    seq: int
    issued_at: datetime
    batch_max: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": SCHEMA,
            "type": "ack",
            "site": self.site,
            "outbox": self.outbox,
            "seq": self.seq,
            "issued_at": to_wire_time(self.issued_at),
        }
        if self.batch_max is not None:
            d["batch_max"] = self.batch_max
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Ack:
        check_header(d, "ack")
        return cls(
            site=require(d, "site", str, "ack", SHORT),
            outbox=require(d, "outbox", str, "ack", SHORT),
            seq=require(d, "seq", int, "ack", NATURAL),
            issued_at=from_wire_time(d.get("issued_at"), "ack.issued_at"),
            # Any natural number: a newer server may take more than this agent sends.
            batch_max=optional(d, "batch_max", int, "ack", NATURAL),
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
    store_ok: bool | None = None  # False while the agent's store cannot write (disk full…)
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
        "store_ok",
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
        check_header(d, "status")
        state = require(d, "state", str, "status", SHORT)
        if state not in ("online", "offline"):
            raise ProtocolError("malformed", f"status.state: {state!r}")
        temp = optional(d, "cpu_temp_c", (int, float), "status", CPU_TEMP)
        offset = optional(d, "clock_offset_ms", (int, float), "status", OFFSET_MS)
        return cls(
            site=require(d, "site", str, "status", SHORT),
            state=state,
            at=from_wire_time(d.get("at"), "status.at"),
            plan_version=optional(d, "plan_version", int, "status", PLAN_VERSION) or 0,
            agent_version=(optional(d, "agent_version", str, "status", DETAIL) or "")[:64],
            detail=(optional(d, "detail", str, "status", DETAIL) or "")[:1000],
            uptime_s=optional(d, "uptime_s", int, "status", NATURAL),
            cache_bytes=optional(d, "cache_bytes", int, "status", NATURAL),
            disk_free_bytes=optional(d, "disk_free_bytes", int, "status", NATURAL),
            cpu_temp_c=float(temp) if temp is not None else None,
            clock_offset_ms=float(offset) if offset is not None else None,
            clock_synced=optional(d, "clock_synced", bool, "status"),
            keys_version=optional(d, "keys_version", int, "status", NATURAL),
            volume=optional(d, "volume", int, "status", Bounds(lo=0, hi=100)),
            store_ok=optional(d, "store_ok", bool, "status"),
            last_error=(optional(d, "last_error", str, "status", DETAIL) or "")[:1000],
        )
