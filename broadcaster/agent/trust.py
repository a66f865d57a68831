"""The server keys the agent trusts, and the signature check every server→agent message goes
through before a decision. A message signed by a key not trusted yet is held, to be retried
after a signed keys update makes that key trusted (e.g. a plan signed by a new key that came
before the new list)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.signing import Verifier

from .reporter import Reporter

logger = logging.getLogger(__name__)

MAX_HELD = 16  # messages signed by a key not (yet) trusted, kept to retry after a keys update


class Trust:
    """The trusted keys in use (``version`` 0: the config's bootstrap list) and the messages held
    for a key not among them."""

    def __init__(self, keys: Sequence[str], reporter: Reporter, version: int = 0) -> None:
        self.reporter = reporter
        self.version = version
        self.verifier = Verifier(list(keys))
        self._held: dict[str, bytes] = {}  # topic → last message signed by an unknown key
        self._lock = threading.Lock()

    def open(self, data: bytes, topic: str, what: str) -> dict[str, object] | None:
        """The payload of a signed envelope, or None after reporting why it was refused (a
        malformed message, which no trusted key vouches for, is logged and kept as the last
        error, not sent as an event)."""
        try:
            return self.verifier.open(data)
        except ProtocolError as exc:
            if exc.reason == "malformed":
                logger.warning("malformed %s message ignored: %s", what, exc)
                self.reporter.note_error(f"{what} rejected (malformed): {exc.detail[:200]}")
                return None
            if exc.reason == "unknown-key":
                with self._lock:
                    self._held[topic] = data
                    while len(self._held) > MAX_HELD:
                        self._held.pop(next(iter(self._held)))
            self.reporter.reject(what, exc.reason, exc.detail)
            return None

    def replace(self, version: int, keys: Sequence[str]) -> dict[str, bytes]:
        """Trust ``keys`` from now on; return the held messages (topic → message) to retry."""
        with self._lock:
            self.verifier = Verifier(list(keys))
            self.version = version
            held, self._held = self._held, {}
        return held
