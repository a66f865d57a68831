"""Events in batches (agent→server): ``{"v":1,"type":"events","site":S,"events":[…]}``, each
entry an event exactly as :meth:`Event.to_dict` writes it.

An agent sends a batch only after a verified ``Ack`` from the server said it takes them
(``Ack.batch_max``); an older server never sees one. A batch holds at most
``BATCH_MAX_EVENTS`` events and is at most ``BATCH_MAX_BYTES`` long (ingest refuses a larger
message). The server judges every entry on its own (``entries`` then ``Event.from_dict``), so
one bad event costs only itself. See docs/protocol.md §8.7.

>>> from datetime import UTC, datetime
>>> e = Event("e1", "cum-1", "ob", 1, "started", datetime(2026, 1, 1, tzinfo=UTC))
>>> EventBatch.from_dict(EventBatch("cum-1", (e,)).to_dict()).events == (e,)
True
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError
from .fields import SHORT, check_header, require
from .messages import Event

BATCH_MAX_EVENTS = 50  # events in one batch; a server announces at most this many
BATCH_MAX_BYTES = 64 * 1024  # the whole message, as ingest's MAX_PAYLOAD


@dataclass(frozen=True)
class EventBatch:
    """Several events of one site in one message."""

    site: str
    events: tuple[Event, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "events",
            "site": self.site,
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, d: Any) -> EventBatch:
        """The whole batch, or ProtocolError if the envelope or any entry is bad (ingest
        judges the entries one by one instead: :func:`entries`)."""
        site, raw = entries(d)
        return cls(site, tuple(Event.from_dict(e) for e in raw))


def entries(d: Any, max_events: int = BATCH_MAX_EVENTS) -> tuple[str, list[Any]]:
    """The site an ``events`` message names and its entries, not yet checked one by one;
    ProtocolError for a bad envelope (no list, an empty one, or more than ``max_events``)."""
    check_header(d, "events")
    site = require(d, "site", str, "events", SHORT)
    raw = d.get("events")
    if not isinstance(raw, list):
        raise ProtocolError("malformed", "events.events: expected a list")
    if not 1 <= len(raw) <= max_events:
        raise ProtocolError(
            "malformed", f"events.events: {len(raw)} entries (1..{max_events} allowed)"
        )
    return site, raw


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_event(event: Event) -> bytes:
    """An event as the agent puts it on the wire, alone or in a batch."""
    return _json(event.to_dict())


def pack(
    site: str,
    events: Sequence[Event],
    max_events: int = BATCH_MAX_EVENTS,
    max_bytes: int = BATCH_MAX_BYTES,
) -> Iterator[tuple[list[Event], bytes]]:
    """The payloads that carry ``events`` in order, with the events each carries: batches of at
    most ``max_events`` events and ``max_bytes`` bytes, a lone event as a plain ``event``
    message (so is one too large for any batch; ingest judges it as it does every event)."""
    head = _json({"v": 1, "type": "events", "site": site})[:-1] + b',"events":['
    group: list[Event] = []
    parts: list[bytes] = []
    size = len(head) + 2  # "]}"

    def flush() -> tuple[list[Event], bytes]:
        if len(parts) == 1:
            return list(group), parts[0]
        return list(group), head + b",".join(parts) + b"]}"

    for event in events:
        part = encode_event(event)
        grown = size + len(part) + (1 if parts else 0)
        if parts and (len(parts) >= max_events or grown > max_bytes):
            yield flush()
            group, parts, size = [], [], len(head) + 2
            grown = size + len(part)
        group.append(event)
        parts.append(part)
        size = grown
    if parts:
        yield flush()


def cost_bound(payload: bytes, max_events: int = BATCH_MAX_EVENTS) -> int:
    """How many events a payload may carry, read without parsing it (for admission): every
    event is a JSON object, and an object needs a ``{`` byte (no escape makes one), so a batch
    holds at most one event fewer than its ``{`` count; 1 for a single event, never more than
    ``max_events`` (a batch with more is refused whole). A payload that cannot name an
    ``events`` type (no such word, no ``\\u`` escape) is one event: its braces are not counted."""
    if b'"events"' not in payload and b"\\u" not in payload:
        return 1
    return max(1, min(payload.count(b"{") - 1, max_events))
