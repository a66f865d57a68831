"""Protocol v1 server→agent commands (play, live, stop, volume, ping) and trusted-keys updates."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import ProtocolError
from .fields import (
    ID_RE,
    POSITIVE,
    SCHEMA,
    SHORT,
    TARGET_RE,
    Bounds,
    check_header,
    from_wire_time,
    id_list,
    optional,
    require,
    to_wire_time,
)
from .live import LiveStream
from .plan import PlanItem

COMMAND_ACTIONS = ("play", "live", "stop", "volume", "ping")
# Every command expires; agents refuse one that claims to live longer than this, so the ids they
# remember against replays can be forgotten a day after expiry.
MAX_COMMAND_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Command:
    """Server→agent, signed, never retained: act now at every site of ``sites`` and ``zones``.

    ``seq`` only moves forward (the publisher uses ``max(last + 1, now in ms)``); an agent refuses
    a command whose id it has seen or whose seq is not above the last one it accepted. Every
    command expires; an expired one is reported (event ``expired``) and never acted on.

    Actions: ``play`` (``item`` plays at once; an emergency interrupts whatever plays),
    ``live`` (``live`` names a live stream, played at once with its priority: see
    :mod:`broadcaster.wire.live`), ``stop`` (stops ``item_id``, or whatever plays when it is
    None), ``volume`` (sets the default ``volume`` 0..100) and ``ping`` (answered by a
    ``received`` event).
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
    live: LiveStream | None = None  # live

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
        if self.action == "live" and self.live is None:
            raise ProtocolError("malformed", "command: live without a stream")
        if self.live is not None:
            self.live.validate()
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
        if self.live is not None:
            d["live"] = self.live.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Command:
        check_header(d, "command")
        item = d.get("item")
        live = d.get("live")
        reason = optional(d, "reason", str, "command") or ""
        return cls(
            id=require(d, "id", str, "command", SHORT),
            seq=require(d, "seq", int, "command", POSITIVE),
            action=require(d, "action", str, "command", SHORT),
            issued_at=from_wire_time(d.get("issued_at"), "command.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "command.expires_at"),
            sites=id_list(d, "sites", "command"),
            zones=id_list(d, "zones", "command"),
            item=PlanItem.from_dict(item) if item is not None else None,
            item_id=optional(d, "item_id", str, "command", SHORT),
            volume=optional(d, "volume", int, "command", Bounds(lo=0, hi=100)),
            reason=reason[:500],
            live=LiveStream.from_dict(live) if live is not None else None,
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
        check_header(d, "keys")
        keys = id_list(d, "keys", "keys")
        if not keys:
            raise ProtocolError("malformed", "keys: empty key list")
        for key in keys:
            try:
                raw = base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ProtocolError("malformed", f"keys: {key!r} is not an Ed25519 public key")
        version = require(d, "version", int, "keys", POSITIVE)
        return cls(
            version=version,
            issued_at=from_wire_time(d.get("issued_at"), "keys.issued_at"),
            expires_at=from_wire_time(d.get("expires_at"), "keys.expires_at"),
            keys=keys,
        )
