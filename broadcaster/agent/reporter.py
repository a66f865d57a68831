"""Telling the server what the agent decided: each refusal is logged, kept as the status' last
error, appended to the outbox as a ``rejected`` event and published; other events are published
as they are appended. A store write that fails is reported the same way, as a ``failed`` event
(kept in memory by the store until it can be written) and the last error."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from broadcaster.clock import Clock
from broadcaster.wire.messages import Event

from .store import Store, StoreError

logger = logging.getLogger(__name__)


class Link(Protocol):
    """What the reporter needs of the MQTT link."""

    def publish_event(self, event: Event) -> object: ...

    def publish_status(self, state: str) -> object: ...


class Reporter:
    """Appends refusals to the outbox and publishes events and status through the link, once
    there is one (until then events wait in the outbox; the link sends them when it connects)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.last_error = ""
        self._store_noted = False  # last_error holds the store's first failure
        self._link: Link | None = None

    def connect(self, link: Link) -> None:
        self._link = link

    def note_error(self, message: str) -> None:
        """Keep ``message`` as the last error the status reports. While the store cannot write,
        its first failure stays (the later ones are its consequences)."""
        if message.startswith("store:"):
            if self._store_noted and self.store.write_error:
                return
            self._store_noted = True
        self.last_error = f"{self.clock.now():%Y-%m-%dT%H:%M:%SZ} {message}"[:500]

    @property
    def store_ok(self) -> bool:
        """The heartbeat's flag: False while the store cannot write."""
        return not self.store.write_error

    def reject(self, what: str, reason: str, detail: str, command: str | None = None) -> None:
        logger.warning("%s rejected (%s): %s", what, reason, detail)
        self.note_error(f"{what} rejected ({reason})")
        self.record(
            "rejected",
            detail=f"{reason}: {what}: {detail}" if detail else f"{reason}: {what}",
            command=command,
        )

    def store_failed(self, what: str, exc: Exception) -> None:
        """A store write failed: the last error, and a ``failed`` event saying what was lost."""
        logger.error("store write failed: %s: %s", what, exc)
        self.note_error(f"store: {what}: {exc}")
        self.record("failed", detail=f"store: {what}: {exc}")

    def record(self, kind: str, **fields: Any) -> Event | None:
        """Append an event now and publish it; when the store cannot write, the store keeps it
        in memory (it goes out once written) and None is returned."""
        try:
            event = self.store.append_event(kind, self.clock.now(), **fields)
        except StoreError:
            logger.warning("%s event kept in memory until the store can write", kind)
            return None
        self.publish(event)
        return event

    def publish(self, event: Event) -> None:
        if self._link is not None:
            self._link.publish_event(event)

    def status_changed(self) -> None:
        """Publish the status now (a new plan version, keys version or volume)."""
        if self._link is not None:
            self._link.publish_status("online")
