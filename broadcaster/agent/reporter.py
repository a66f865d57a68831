"""Telling the server what the agent decided: each refusal is logged, kept as the status' last
error, appended to the outbox as a ``rejected`` event and published; other events are published
as they are appended."""

from __future__ import annotations

import logging
from typing import Protocol

from broadcaster.clock import Clock
from broadcaster.wire.messages import Event

from .store import Store

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
        self._link: Link | None = None

    def connect(self, link: Link) -> None:
        self._link = link

    def note_error(self, message: str) -> None:
        """Keep ``message`` as the last error the status reports."""
        self.last_error = f"{self.clock.now():%Y-%m-%dT%H:%M:%SZ} {message}"[:500]

    def reject(self, what: str, reason: str, detail: str, command: str | None = None) -> None:
        logger.warning("%s rejected (%s): %s", what, reason, detail)
        self.note_error(f"{what} rejected ({reason})")
        event = self.store.append_event(
            "rejected",
            self.clock.now(),
            detail=f"{reason}: {what}: {detail}" if detail else f"{reason}: {what}",
            command=command,
        )
        self.publish(event)

    def publish(self, event: Event) -> None:
        if self._link is not None:
            self._link.publish_event(event)

    def status_changed(self) -> None:
        """Publish the status now (a new plan version, keys version or volume)."""
        if self._link is not None:
            self._link.publish_status("online")
