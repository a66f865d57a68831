"""Deciding on a signed trusted-keys update: it replaces the list of trusted keys, only by a
newer version, and retries the messages held for a key not trusted before."""

from __future__ import annotations

import logging

from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import KeysUpdate
from broadcaster.wire.signing import Verifier, key_id

from .inbox import Inbox

logger = logging.getLogger(__name__)


class KeysHandling(Inbox):
    """The ``Agent``'s trusted-keys handling."""

    def _load_trusted_keys(self) -> None:
        """The list learnt from the server (signed, newer) wins over the config's bootstrap."""
        assert self.store is not None
        learnt = self.store.trusted_keys()
        if learnt is not None:
            self.keys_version, keys = learnt
            self.verifier = Verifier(keys)

    def handle_keys(self, data: bytes) -> None:
        assert self.store is not None
        payload = self._open(data, self.topics.keys(), "keys")
        if payload is None:
            return
        try:
            update = KeysUpdate.from_dict(payload)
        except ProtocolError as exc:
            self._reject("keys", exc.reason, exc.detail)
            return
        with self._lock:
            current = self.store.trusted_keys()
            if current is not None and update.version <= current[0]:
                if update.version == current[0] and list(update.keys) == current[1]:
                    logger.debug("trusted keys v%d already current", update.version)
                else:
                    self._reject(
                        "keys", "stale", f"keys v{update.version} is not newer than v{current[0]}"
                    )
                return
            if update.expires_at < self.clock():
                self._reject("keys", "expired", f"keys v{update.version} has expired")
                return
            kids = ", ".join(key_id(k) for k in update.keys)
            event = self.store.save_trusted_keys(
                update.version,
                list(update.keys),
                f"trusted keys v{update.version}: {kids}",
                self.clock(),
            )
            self.verifier = Verifier(list(update.keys))
            self.keys_version = update.version
            held, self._held = self._held, {}
        logger.info("trusted keys updated to v%d: %s", update.version, kids)
        self._publish_event(event)
        if self.link is not None:
            self.link.publish_status("online")
        for topic, message in held.items():  # e.g. a plan signed by the new key came first
            if topic != self.topics.keys():
                logger.info("retrying the message on %s held for an unknown key", topic)
                self.handle_message(topic, message)
