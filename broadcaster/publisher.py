"""The Publisher seam: what the server needs from an MQTT link, and an in-memory one for tests.

``broadcaster.mqtt.Link`` is the real one. Plans (``broadcaster.publish``), commands
(``broadcaster.commands``) and ingest's acks publish through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Deliver or raise; QoS 1 publishes wait for the broker's PUBACK."""


@runtime_checkable
class Pipelining(Protocol):
    def publish_many(self, messages: Sequence[tuple[str, bytes]], *, qos: int = 1) -> None:
        """Deliver every message or raise: all are sent, then every PUBACK is awaited."""


def publish_many(publisher: Publisher, messages: Sequence[tuple[str, bytes]], qos: int = 1) -> None:
    """Deliver several messages: pipelined where the publisher can (the Link: one round trip
    for all of them instead of one each), else one by one."""
    if isinstance(publisher, Pipelining):
        publisher.publish_many(messages, qos=qos)
    else:
        for topic, payload in messages:
            publisher.publish(topic, payload, qos=qos)


@dataclass
class MemoryPublisher:
    """Keeps what was published, for unit tests."""

    sent: list[tuple[str, bytes, int, bool]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.sent.append((topic, payload, qos, retain))
