"""Protocol v1 plan messages: a site's whole upcoming plan, its items and their media."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .errors import ProtocolError
from .fields import (
    ANNOUNCEMENT_ID,
    NATURAL,
    POSITIVE,
    SCHEMA,
    SHA256_RE,
    SHORT,
    Bounds,
    check_header,
    from_wire_time,
    optional,
    require,
    to_wire_time,
)

PRIORITIES = ("normal", "priority", "emergency")
URL = Bounds(max_len=2048)
TITLE = Bounds(max_len=1000)
MAX_DURATION_MS = 24 * 3600 * 1000
DURATION = Bounds(lo=0, hi=MAX_DURATION_MS)
MAX_ITEMS = 5000
# Which item takes the air when two want it: the lower rank (the server's conflict resolution and
# the agent's play-now queue both order by it).
PRIORITY_RANK = {"emergency": 0, "priority": 1, "normal": 2}


def priority_rank(priority: str) -> int:
    """The rank of ``priority``; anything unknown ranks as normal."""
    return PRIORITY_RANK.get(priority, PRIORITY_RANK["normal"])


@dataclass(frozen=True)
class Media:
    sha256: str
    url: str
    size: int
    duration_ms: int

    @classmethod
    def from_dict(cls, d: Any) -> Media:
        sha = require(d, "sha256", str, "media", SHORT)
        if not SHA256_RE.match(sha):
            raise ProtocolError("malformed", "media.sha256: not a sha256 hex digest")
        url = require(d, "url", str, "media", URL)
        if not url.startswith(("http://", "https://")):
            raise ProtocolError("malformed", "media.url: not http(s)")
        return cls(
            sha256=sha,
            url=url,
            size=require(d, "size", int, "media", NATURAL),
            duration_ms=require(d, "duration_ms", int, "media", DURATION),
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
        url = require(d, "url", str, "stream", URL)
        if not url.startswith(("http://", "https://")):
            raise ProtocolError("malformed", "stream.url: not http(s)")
        duration = require(d, "duration_ms", int, "stream", Bounds(lo=1, hi=MAX_DURATION_MS))
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
        priority = require(d, "priority", str, "item", SHORT)
        if priority not in PRIORITIES:
            raise ProtocolError("malformed", f"item.priority: {priority!r}")
        volume = optional(d, "volume", int, "item", Bounds(lo=0, hi=100))
        stream = d.get("stream")
        return cls(
            id=require(d, "id", str, "item", SHORT),
            start=from_wire_time(require(d, "start", str, "item", SHORT), "item.start"),
            title=require(d, "title", str, "item", TITLE),
            announcement_id=require(d, "announcement_id", int, "item", ANNOUNCEMENT_ID),
            priority=priority,
            media=Media.from_dict(require(d, "media", dict, "item")),
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
        check_header(d, "plan")
        items = require(d, "items", list, "plan")
        if len(items) > MAX_ITEMS:
            raise ProtocolError("malformed", f"plan: more than {MAX_ITEMS} items")
        return cls(
            site=require(d, "site", str, "plan", SHORT),
            version=require(d, "version", int, "plan", POSITIVE),
            issued_at=from_wire_time(d.get("issued_at"), "plan.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "plan.expires_at"),
            items=tuple(PlanItem.from_dict(i) for i in items),
        )
