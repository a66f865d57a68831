"""Has the broker lost the retained plans? A retained mark, checked on every (re)connect.

The scheduler keeps a retained message on ``<root>/server/plans-mark`` (server only) holding the
newest plan version in the database when it last published. On each connect its link subscribes
to the mark and to a probe topic of its own, then publishes a probe: the broker queues the
retained messages of a subscription before anything published later on the same connection, so
when the probe comes back the mark has arrived, or the broker has none. No mark, or an older one
than the database's newest version, means the broker lost retained state (a new broker, a crash
before its autosave, persistence off): the scheduler then republishes every plan at once instead
of waiting for the hourly refresh (docs/protocol.md §3).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass

from broadcaster.mqtt import Link
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One connect's finding: the mark the broker held (None: it had none)."""

    mark: int | None

    def lost(self, newest: int) -> bool:
        """Whether plans up to ``newest`` (the database's newest version) may be missing."""
        return newest > 0 and (self.mark is None or self.mark < newest)


class PlansMark:
    """The retained mark on one ``Link``; build it before the link starts."""

    def __init__(self, link: Link, topics: Topics) -> None:
        if link.on_connect is not None:
            raise ValueError("PlansMark needs the link's on_connect callback")
        self.link = link
        self.topic = topics.plans_mark()
        self.probe_topic = topics.probe(link.client_id)
        self._lock = threading.Lock()
        self._token: bytes | None = None  # the probe in flight
        self._seen: int | None = None
        self._check: Check | None = None
        link.subscribe(self.topic, self._on_mark)
        link.subscribe(self.probe_topic, self._on_probe)
        link.on_connect = self._on_connect

    def take(self) -> Check | None:
        """The latest connect's finding, once; None while none is new."""
        with self._lock:
            check, self._check = self._check, None
        return check

    def write(self, newest: int) -> None:
        """Record that the broker holds every plan up to ``newest`` (waits for the PUBACK)."""
        self.link.publish(self.topic, str(newest).encode(), qos=1, retain=True)

    # network thread

    def _on_connect(self, _session_present: bool) -> None:
        token = secrets.token_hex(8).encode()
        with self._lock:
            self._token, self._seen = token, None
        self.link.send(self.probe_topic, token, qos=1)

    def _on_mark(self, _topic: str, payload: bytes) -> None:
        try:
            mark = int(payload)
        except ValueError:
            logger.warning("plans mark %r is not a version; taken as none", payload[:40])
            return
        with self._lock:
            self._seen = max(mark, self._seen or 0)

    def _on_probe(self, _topic: str, payload: bytes) -> None:
        with self._lock:
            if payload != self._token:
                return  # an older connection's probe
            self._token = None
            self._check = Check(self._seen)
