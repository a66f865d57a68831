"""The checks every server→agent message goes through before a decision: verify the signature
(holding a message signed by a key not trusted yet, to retry after a keys update), and report
each refusal as a logged, published event."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Verifier
from broadcaster.wire.topics import Topics

if TYPE_CHECKING:
    from .config import AgentConfig
    from .fetch import Prefetcher
    from .hardware import AlsaMixer
    from .mqtt import MqttLink
    from .runner import Runner
    from .store import Store

logger = logging.getLogger(__name__)

MAX_HELD = 16  # messages signed by a key not (yet) trusted, kept to retry after a keys update


class Inbox:
    """Base of the agent's message handlers; ``Agent`` sets these attributes."""

    config: AgentConfig
    clock: Callable[[], datetime]
    topics: Topics
    verifier: Verifier
    keys_version: int
    last_error: str
    store: Store | None
    runner: Runner | None
    prefetcher: Prefetcher | None
    link: MqttLink | None
    mixer: AlsaMixer | None
    _lock: threading.RLock
    _held: dict[str, bytes]

    def handle_message(self, topic: str, payload: bytes) -> None:
        raise NotImplementedError

    def note_error(self, message: str) -> None:
        self.last_error = f"{self.clock():%Y-%m-%dT%H:%M:%SZ} {message}"[:500]

    def _open(self, data: bytes, topic: str, what: str) -> dict[str, object] | None:
        """Verify a signed envelope; report a refusal (and hold messages signed by a key not
        trusted yet, to retry after a keys update)."""
        try:
            return self.verifier.open(data)
        except ProtocolError as exc:
            if exc.reason == "malformed":
                logger.warning("malformed %s message ignored: %s", what, exc)
                return None
            if exc.reason == "unknown-key":
                with self._lock:
                    self._held[topic] = data
                    while len(self._held) > MAX_HELD:
                        self._held.pop(next(iter(self._held)))
            self._reject(what, exc.reason, exc.detail)
            return None

    def _reject(self, what: str, reason: str, detail: str, command: str | None = None) -> None:
        assert self.store is not None
        logger.warning("%s rejected (%s): %s", what, reason, detail)
        self.note_error(f"{what} rejected ({reason})")
        event = self.store.append_event(
            "rejected",
            self.clock(),
            detail=f"{reason}: {what}: {detail}" if detail else f"{reason}: {what}",
            command=command,
        )
        self._publish_event(event)

    def _publish_event(self, event: Event) -> None:
        if self.link is not None:
            self.link.publish_event(event)
