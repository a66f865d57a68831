"""The agents' events through a NATS queue group: how several ingest workers share them on a NATS
cluster, whose MQTT (NATS 2.9: 3.1.1) has no shared subscriptions.

The agents still speak MQTT; NATS maps an MQTT topic to a subject (``loa/v1/sites/x/events`` is
``loa.v1.sites.x.events``) and gives a message published over MQTT to the NATS subscribers of its
subject too. Each worker subscribes to ``<root>.sites.*.events`` in the queue group
``ingest_group`` through NATS's own protocol (nats-py): NATS gives each message to one member.
Statuses and acks stay on the worker's MQTT link.

Delivery to a queue member is at most once: events a worker had taken when it died are lost to
it, not to the agent, which keeps every event in its outbox until an ack names it and resends
after ``RESEND_AFTER_S``; NATS gives the resend to a live member (it drops a dead member's
subscription with its connection), and the database's unique (site, seq) keeps a second copy
out. See docs/decisions.md, "Ingest workers on NATS: a queue group".
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

SCHEMES = ("nats://", "tls://")
RETRY_S = 2.0  # between attempts at the first connection (later ones are nats-py's)


def parse_servers(text: str) -> list[str]:
    """``nats://host:4222,tls://host:4222`` as a list; ValueError names a bad one."""
    servers = [s.strip() for s in text.split(",") if s.strip()]
    for server in servers:
        if not server.startswith(SCHEMES) or len(server) <= len("nats://"):
            raise ValueError(f"{server!r} is not nats://host:port or tls://host:port")
    return servers


def topic_of(subject: str) -> str:
    """The MQTT topic of a message's NATS subject (levels joined by dots; topics here hold no
    dot: the root and site ids are slugs)."""
    return subject.replace(".", "/")


@dataclass
class NatsQueue:
    """Subscribes to ``subject`` in queue group ``group`` on ``servers`` from a thread of its
    own, handing each message to ``on_message(topic, payload)`` (which must not block)."""

    servers: list[str]
    group: str
    subject: str
    on_message: Callable[[str, bytes], None]
    user: str = ""
    password: str = ""
    ca_file: str = ""  # for tls:// servers; "" = the system's CAs
    name: str = "broadcaster-ingest"
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _connected: threading.Event = field(default_factory=threading.Event)
    _stop: asyncio.Event | None = None
    taken: int = 0  # messages NATS gave this member

    def start(self, wait: float = 10.0) -> bool:
        """Connect and subscribe on the queue's thread; True if that happened within ``wait``
        seconds (it goes on trying otherwise)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="nats-queue", daemon=True)
        self._thread.start()
        return self._connected.wait(wait)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    def _tls(self) -> ssl.SSLContext | None:
        if not any(s.startswith("tls://") for s in self.servers):
            return None
        return ssl.create_default_context(cafile=self.ca_file or None)

    async def _main(self) -> None:
        import nats
        from nats.errors import NoServersError

        self._stop = asyncio.Event()

        async def deliver(msg: Any) -> None:
            self.taken += 1
            self.on_message(topic_of(msg.subject), msg.data)

        async def disconnected() -> None:
            logger.warning("disconnected from NATS; reconnecting")

        async def reconnected() -> None:
            url = nc.connected_url if nc is not None else None
            logger.info("reconnected to NATS %s", url.netloc if url is not None else "?")

        async def error(exc: Exception) -> None:
            logger.warning("NATS: %s", exc)

        nc = None
        while not self._stop.is_set():
            try:
                nc = await nats.connect(
                    servers=self.servers,
                    name=self.name,
                    user=self.user or None,
                    password=self.password or None,
                    tls=self._tls(),
                    max_reconnect_attempts=-1,  # for ever, across the cluster's nodes
                    reconnect_time_wait=1,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error,
                )
                break
            except (TimeoutError, NoServersError, OSError) as exc:
                logger.warning("NATS %s not reachable (%s); retrying", self.servers, exc)
                try:
                    await asyncio.wait_for(self._stop.wait(), RETRY_S)
                except TimeoutError:
                    pass
        if nc is None:
            return
        await nc.subscribe(self.subject, queue=self.group, cb=deliver)
        await nc.flush()
        url = nc.connected_url.netloc if nc.connected_url else "?"
        logger.info("connected to NATS %s: queue group %r on %s", url, self.group, self.subject)
        self._connected.set()
        await self._stop.wait()
        await nc.close()
        logger.info("left NATS queue group %r: %d messages taken", self.group, self.taken)
