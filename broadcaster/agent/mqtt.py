"""The agent's use of the MQTT link (``broadcaster.mqtt``): its subscriptions, its status and the
event outbox's delivery.

A persistent session under the stable client id ``agent-<site>`` (MQTT 5: ``clean_start=False``,
session expiry one week; 3.1.1: ``clean_session=False``), so QoS 1 plans and commands sent while
a Pi is offline wait on the broker (``mqtt_qos = 0``, on NATS: they do not; the retained keys and
plan, the outbox's resends and the server's re-sent emergencies make up for it). Acks come at
QoS 0 and are not kept for an offline Pi: it sends its unacked events again on reconnecting and
gets a fresh ack. The retained status is refreshed every ``heartbeat_s`` with the agent's
health; the last will says "offline".

Unacked events are sent again in batches (``broadcaster.wire.batches``) once a verified ack
said the server takes them (``Ack.batch_max``; remembered for the process, so a reconnect's
backlog flush goes in batches at once): each resend round sends its oldest event alone first,
so the server's answer to it keeps what the agent knows current (an ack without the field puts
it back to one event a message), and before the process has had any ack the rest of the round
waits for that event's ack (up to ``PROBE_WAIT_S``; then one event a message). A server that
never announced batches (an older one) never gets one. Live events go one at a time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import MQTTMessageInfo

from broadcaster.mqtt import Link, Will
from broadcaster.wire.batches import BATCH_MAX_EVENTS, encode_event, pack
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.topics import Topics

from .config import AgentConfig
from .store import Store, StoreError

logger = logging.getLogger(__name__)

RESEND_AFTER_S = 10.0  # unacked events older than this are sent again
PROBE_WAIT_S = 2.0  # before any ack: how long a round's rest waits for its first event's ack


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class MqttLink:
    """Subscribes to the site's topics, publishes status and outbox events over one ``Link``."""

    def __init__(
        self,
        config: AgentConfig,
        store: Store,
        on_message: Callable[[str, bytes], None],
        status: Callable[[str], Status],
        resend_after_s: float = RESEND_AFTER_S,
        before_resend: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.store = store
        self.on_message = on_message
        self.status = status
        self.resend_after_s = resend_after_s
        self.before_resend = before_resend  # e.g. retry the store's failed writes
        self.topics = Topics(config.topic_root)
        self._stop = threading.Event()
        self._last_heartbeat = 0.0
        self._resend_all = threading.Event()
        self._wake = threading.Event()
        # What the last verified ack said the server takes (0: single events), and whether this
        # process has had one.
        self._batch_max = 0
        self._told = threading.Event()
        self._thread: threading.Thread | None = None
        self.link = Link(
            config.mqtt_options(),
            client_id=f"agent-{config.site}",
            persistent=True,
            will=Will(self.topics.status(config.site), _json(status("offline").to_dict())),
            on_connect=self._on_connect,
        )
        for topic in self.subscriptions:
            self.link.subscribe(topic, on_message, qos=config.mqtt_qos)

    @property
    def connected(self) -> threading.Event:
        return self.link.connected

    @property
    def subscriptions(self) -> list[str]:
        """Keys first: the broker sends retained messages in this order, so a new trusted key
        arrives before a plan signed with it."""
        site = self.config.site
        topics = [self.topics.keys(), self.topics.plan(site), self.topics.site_cmd(site)]
        topics += [self.topics.ack(site)]
        return topics + [self.topics.zone_cmd(z) for z in self.config.zones]

    @property
    def alive(self) -> bool:
        """The outbox thread and paho's network thread are running."""
        return bool(self._thread is not None and self._thread.is_alive() and self.link.alive)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()
        self._thread = threading.Thread(target=self._resend_loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Say "offline" (a clean disconnect does not fire the will), then disconnect."""
        self._stop.set()
        self._wake.set()
        self._told.set()  # a flush waiting for an ack gives up
        if self._thread is not None:
            self._thread.join(5)
        if self.connected.is_set():
            info = self.publish_status("offline")
            if info is not None:
                try:
                    info.wait_for_publish(2.0)
                except (RuntimeError, ValueError) as exc:
                    logger.warning("offline status not confirmed: %s", exc)
        self.link.stop()

    # -- publishing ---------------------------------------------------------------------------

    def publish_status(self, state: str) -> MQTTMessageInfo | None:
        """The retained status, QoS 1, not waited for; its MQTTMessageInfo, or None."""
        self._last_heartbeat = time.monotonic()
        return self.link.send(
            self.topics.status(self.config.site),
            _json(self.status(state).to_dict()),
            qos=1,
            retain=True,
        )

    def publish_event(self, event: Event) -> bool:
        """Send one outbox event (at ``mqtt_qos``) if connected; it stays in the outbox until acked."""
        return self._publish_events([event]) == 1

    def ack_seen(self, ack: Ack) -> None:
        """A verified ack for our outbox arrived (network thread): remember whether the server
        takes batches (the latest ack decides)."""
        self._batch_max = min(ack.batch_max or 0, BATCH_MAX_EVENTS)
        self._told.set()

    @property
    def batch_max(self) -> int:
        """Events per message the resends use now (1: one at a time)."""
        return self._batch_max if self._told.is_set() and self._batch_max > 1 else 1

    def _publish_events(self, events: list[Event], batch_max: int = 1) -> int:
        """Send ``events`` (at ``mqtt_qos``), in batches of up to ``batch_max``; how many went."""
        if not self.connected.is_set():
            return 0
        sent: list[int] = []
        site = self.config.site
        topic = self.topics.events(site)
        if batch_max > 1:
            messages = pack(site, events, batch_max)
        else:
            messages = iter([([e], encode_event(e)) for e in events])
        for group, payload in messages:
            if self.link.send(topic, payload, qos=self.config.mqtt_qos) is None:
                logger.info("event %d not sent now; will retry", group[0].seq)
                break
            sent += [e.seq for e in group]
        try:
            self.store.mark_sent(sent, time.time())
        except StoreError:
            pass  # the store reports it; unmarked events are only sent again sooner
        return len(sent)

    def _flush(self, pending: list[Event]) -> int:
        """Send unacked events: the oldest alone, then the rest in batches when the latest
        verified ack said the server takes them, one by one otherwise. Before the process has
        had any ack, the rest waits up to ``PROBE_WAIT_S`` for the first one's ack (and what
        that ack removed from the outbox is not sent again)."""
        sent = self._publish_events(pending[:1])
        if sent == 0 or len(pending) == 1:
            return sent
        rest = pending[1:]
        if not self._told.is_set():
            self._told.wait(min(PROBE_WAIT_S, self.resend_after_s))
            if self._stop.is_set():
                return sent
            wanted = {e.seq for e in rest}
            rest = [e for e in self.store.pending_events() if e.seq in wanted]
        return sent + self._publish_events(rest, self.batch_max)

    def _resend_loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            if self.connected.is_set() and now - self._last_heartbeat >= self.config.heartbeat_s:
                try:
                    self.publish_status("online")
                except Exception:
                    logger.exception("heartbeat failed")
            try:
                self.before_resend()
            except Exception:
                logger.exception("retrying the store's writes failed")
            try:
                if self._resend_all.is_set():
                    self._resend_all.clear()
                    pending = self.store.pending_events()
                else:
                    pending = self.store.pending_events(time.time() - self.resend_after_s)
                if pending:
                    count = self._flush(pending)
                    logger.info(
                        "(re)sent %d of %d unacked event(s), up to %d a message",
                        count,
                        len(pending),
                        self.batch_max,
                    )
            except Exception:
                logger.exception("outbox resend failed")
            self._wake.wait(min(self.resend_after_s, self.config.heartbeat_s))
            self._wake.clear()

    def _on_connect(self, session_present: bool) -> None:
        """On the network thread, after the subscriptions went out."""
        self.publish_status("online")
        self._resend_all.set()  # everything unacked goes again after a reconnect
        self._wake.set()
