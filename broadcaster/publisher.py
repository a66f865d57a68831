"""The Publisher seam: what the server needs from an MQTT link, and an in-memory one for tests.

``broadcaster.mqtt.Link`` is the real one. Plans (``broadcaster.publish``), commands
(``broadcaster.commands``) and ingest's acks publish through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Deliver or raise; QoS 1 publishes wait for the broker's PUBACK."""


@dataclass
class MemoryPublisher:
    """Keeps what was published, for unit tests."""

    sent: list[tuple[str, bytes, int, bool]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.sent.append((topic, payload, qos, retain))
