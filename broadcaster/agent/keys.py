"""Deciding on a signed trusted-keys update: it replaces the list of trusted keys, only by a
newer version, and retries the messages held for a key not trusted before."""

from __future__ import annotations

import logging
from collections.abc import Callable

from broadcaster.clock import Clock
from broadcaster.wire.commands import KeysUpdate
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.signing import key_id

from .reporter import Reporter
from .store import Store
from .trust import Trust

logger = logging.getLogger(__name__)


class KeysHandler:
    """Keeps the trusted-keys list learnt from the server; ``retry`` takes each message held
    for a key that the new list trusts (the agent's own message dispatch)."""

    def __init__(
        self,
        *,
        store: Store,
        trust: Trust,
        reporter: Reporter,
        clock: Clock,
        retry: Callable[[str, bytes], None],
    ) -> None:
        self.store = store
        self.trust = trust
        self.reporter = reporter
        self.clock = clock
        self.retry = retry

    def load_saved(self) -> None:
        """The list learnt from the server (signed, newer) wins over the config's bootstrap."""
        learnt = self.store.trusted_keys()
        if learnt is not None:
            self.trust.replace(*learnt)

    def handle(self, topic: str, data: bytes) -> None:
        payload = self.trust.open(data, topic, "keys")
        if payload is None:
            return
        try:
            update = KeysUpdate.from_dict(payload)
        except ProtocolError as exc:
            self.reporter.reject("keys", exc.reason, exc.detail)
            return
        current = self.store.trusted_keys()
        if current is not None and update.version <= current[0]:
            if update.version == current[0] and list(update.keys) == current[1]:
                logger.debug("trusted keys v%d already current", update.version)
            else:
                self.reporter.reject(
                    "keys", "stale", f"keys v{update.version} is not newer than v{current[0]}"
                )
            return
        now = self.clock.now()
        if update.expires_at < now:
            self.reporter.reject("keys", "expired", f"keys v{update.version} has expired")
            return
        kids = ", ".join(key_id(k) for k in update.keys)
        event = self.store.save_trusted_keys(
            update.version, list(update.keys), f"trusted keys v{update.version}: {kids}", now
        )
        held = self.trust.replace(update.version, update.keys)
        logger.info("trusted keys updated to v%d: %s", update.version, kids)
        self.reporter.publish(event)
        self.reporter.status_changed()
        for held_topic, message in held.items():  # e.g. a plan signed by the new key came first
            if held_topic != topic:
                logger.info("retrying the message on %s held for an unknown key", held_topic)
                self.retry(held_topic, message)
