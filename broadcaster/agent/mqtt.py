"""The agent's MQTT link: session, subscriptions, status and the event outbox's delivery.

MQTT 5 with a persistent session (``clean_start=False``, session expiry one week) and a stable
client id ``agent-<site>``, so QoS 1 plans, commands and acks sent while a Pi is offline wait on
the broker. TLS when ``mqtt_tls`` (with the provisioned CA certificate). The retained status is
refreshed every ``heartbeat_s`` with the agent's health; the last will says "offline".
Every paho callback is wrapped: an exception is logged and never kills the network thread.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broadcaster.wire.messages import Event, Status
from broadcaster.wire.topics import Topics

from .config import AgentConfig
from .store import Store

logger = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
RESEND_AFTER_S = 10.0  # unacked events older than this are sent again


def _guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Log any exception from a paho callback instead of letting it reach the network loop."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            logger.exception("MQTT callback %s failed", fn.__name__)

    return wrapper


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class MqttLink:
    """Connects, subscribes on every (re)connect, publishes status and outbox events."""

    def __init__(
        self,
        config: AgentConfig,
        store: Store,
        on_message: Callable[[str, bytes], None],
        status: Callable[[str], Status],
        resend_after_s: float = RESEND_AFTER_S,
    ) -> None:
        self.config = config
        self.store = store
        self.on_message = on_message
        self.status = status
        self.resend_after_s = resend_after_s
        self.topics = Topics(config.topic_root)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._last_heartbeat = 0.0
        self._resend_all = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.client = self._make_client()

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
        paho_thread = getattr(self.client, "_thread", None)
        return bool(
            self._thread is not None
            and self._thread.is_alive()
            and paho_thread is not None
            and paho_thread.is_alive()
        )

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"agent-{self.config.site}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self.config.mqtt_username:
            client.username_pw_set(self.config.mqtt_username, self.config.mqtt_password)
        if self.config.mqtt_tls:
            context = ssl.create_default_context(cafile=self.config.mqtt_ca_file or None)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            client.tls_set_context(context)
        client.will_set(
            self.topics.status(self.config.site),
            _json(self.status("offline").to_dict()),
            qos=1,
            retain=True,
        )
        client.reconnect_delay_set(1, 30)
        client.enable_logger(logging.getLogger("paho"))
        client.on_connect = _guarded(self._on_connect)
        client.on_disconnect = _guarded(self._on_disconnect)
        client.on_message = _guarded(self._on_message)
        client.on_subscribe = _guarded(self._on_subscribe)
        return client

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        logger.info("connecting to %s:%d", self.config.mqtt_host, self.config.mqtt_port)
        self.client.connect_async(
            self.config.mqtt_host,
            self.config.mqtt_port,
            keepalive=self.config.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()
        self._thread = threading.Thread(target=self._resend_loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Say "offline" (a clean disconnect does not fire the will), then disconnect."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.connected.is_set() and self.client.is_connected():
            info = self.publish_status("offline")
            if info is not None:
                try:
                    info.wait_for_publish(2.0)
                except (RuntimeError, ValueError) as exc:
                    logger.warning("offline status not confirmed: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing ---------------------------------------------------------------------------

    def publish_status(self, state: str) -> mqtt.MQTTMessageInfo | None:
        self._last_heartbeat = time.monotonic()
        info = self.client.publish(
            self.topics.status(self.config.site),
            _json(self.status(state).to_dict()),
            qos=1,
            retain=True,
        )
        return info if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def publish_event(self, event: Event) -> bool:
        """Send one outbox event (QoS 1) if connected; it stays in the outbox until acked."""
        return self._publish_events([event]) == 1

    def _publish_events(self, events: list[Event]) -> int:
        if not self.connected.is_set():
            return 0
        sent: list[int] = []
        topic = self.topics.events(self.config.site)
        for event in events:
            info = self.client.publish(topic, _json(event.to_dict()), qos=1)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                logger.info("event %d not sent now (%s); will retry", event.seq, info.rc)
                break
            sent.append(event.seq)
        self.store.mark_sent(sent, time.time())
        return len(sent)

    def _resend_loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            if self.connected.is_set() and now - self._last_heartbeat >= self.config.heartbeat_s:
                try:
                    self.publish_status("online")
                except Exception:
                    logger.exception("heartbeat failed")
            try:
                if self._resend_all.is_set():
                    self._resend_all.clear()
                    pending = self.store.pending_events()
                else:
                    pending = self.store.pending_events(time.time() - self.resend_after_s)
                if pending:
                    count = self._publish_events(pending)
                    logger.info("(re)sent %d of %d unacked event(s)", count, len(pending))
            except Exception:
                logger.exception("outbox resend failed")
            self._wake.wait(min(self.resend_after_s, self.config.heartbeat_s))
            self._wake.clear()

    # -- paho callbacks (network thread) ------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: Any,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("MQTT connection refused: %s", reason_code)
            return
        logger.info("connected to MQTT broker (session present: %s)", flags.session_present)
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        self.connected.set()
        self.publish_status("online")
        self._resend_all.set()  # everything unacked goes again after a reconnect
        self._wake.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: Any,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            logger.warning("disconnected from MQTT broker (%s); reconnecting", reason_code)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[Any],
        properties: Properties | None,
    ) -> None:
        for topic, code in zip(self.subscriptions, reason_codes, strict=False):
            if code.is_failure:
                logger.error("subscription to %s refused: %s", topic, code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.on_message(message.topic, bytes(message.payload))
