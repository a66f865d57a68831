"""Protocol v1 ``live`` command body: which live stream to play, with what login and priority.

The agent opens only ``url`` (an http(s) URL carried inside the signed command), logs in with
user ``session`` and password ``token`` (HTTP basic authentication: the streaming server knows
each session's token only while it runs), and plays it until a ``stop`` command, the end of the
stream, ``stall_s`` seconds without audio, or ``max_s``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import ProtocolError
from .fields import ANNOUNCEMENT_ID, ID_RE, SHORT, Bounds, from_wire_time, require, to_wire_time
from .plan import TITLE, URL

LIVE_PRIORITIES = ("priority", "emergency")
TOKEN = Bounds(max_len=128)
STALL = Bounds(lo=1, hi=300)
MAX_LIVE_S = 4 * 3600
LIVE_LENGTH = Bounds(lo=1, hi=MAX_LIVE_S)


@dataclass(frozen=True)
class LiveStream:
    """What to play live: the airing (``item_id``, ``announcement_id``, ``start``, ``title``,
    ``priority``: as an item's) and the stream (``url``, ``session``, ``token``)."""

    session: str
    url: str
    token: str
    item_id: str
    announcement_id: int
    title: str
    priority: str
    start: datetime
    stall_s: int = 5
    max_s: int = 3600

    def validate(self) -> LiveStream:
        if not ID_RE.match(self.session) or not ID_RE.match(self.item_id):
            raise ProtocolError("malformed", "live: session or item_id is not an id")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProtocolError("malformed", "live.url: not an http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ProtocolError("malformed", "live.url: carries a login (the token is apart)")
        if self.priority not in LIVE_PRIORITIES:
            raise ProtocolError("malformed", f"live.priority: {self.priority!r}")
        if not self.token or not self.token.isascii() or not self.token.isprintable():
            raise ProtocolError("malformed", "live.token: empty or not printable ASCII")
        return self

    def login_url(self) -> str:
        """``url`` with the session's login in it, for players that take one URL (ffmpeg,
        mpv send it as HTTP basic authentication)."""
        parts = urlsplit(self.url)
        host = parts.netloc
        netloc = f"{quote(self.session, safe='')}:{quote(self.token, safe='')}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "url": self.url,
            "token": self.token,
            "item_id": self.item_id,
            "announcement_id": self.announcement_id,
            "title": self.title,
            "priority": self.priority,
            "start": to_wire_time(self.start),
            "stall_s": self.stall_s,
            "max_s": self.max_s,
        }

    @classmethod
    def from_dict(cls, d: Any) -> LiveStream:
        if not isinstance(d, dict):
            raise ProtocolError("malformed", "live: expected an object")
        return cls(
            session=require(d, "session", str, "live", SHORT),
            url=require(d, "url", str, "live", URL),
            token=require(d, "token", str, "live", TOKEN),
            item_id=require(d, "item_id", str, "live", SHORT),
            announcement_id=require(d, "announcement_id", int, "live", ANNOUNCEMENT_ID),
            title=require(d, "title", str, "live", TITLE),
            priority=require(d, "priority", str, "live", SHORT),
            start=from_wire_time(require(d, "start", str, "live", SHORT), "live.start"),
            stall_s=require(d, "stall_s", int, "live", STALL),
            max_s=require(d, "max_s", int, "live", LIVE_LENGTH),
        ).validate()
