"""The server's MQTT connection (paho-mqtt 2.x), shared by plan publishing and ingest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.config import Settings

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]


class PublishError(RuntimeError):
    """A QoS 1 publish was not acknowledged by the broker in time."""


@dataclass
class ServerConnection:
    """One paho client: reconnects by itself, renews subscriptions in on_connect."""

    settings: Settings
    client_id: str
    subscriptions: dict[str, Handler] = field(default_factory=dict)
    publish_timeout: float = 10.0

    def __post_init__(self) -> None:
        self.connected = threading.Event()
        self._stopping = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,  # keep QoS 1 events queued while we are away
        )
        if self.settings.mqtt_username:
            self.client.username_pw_set(self.settings.mqtt_username, self.settings.mqtt_password)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register before start(); subscriptions are (re)made on every connect."""
        self.subscriptions[topic_filter] = handler

    def start(self, wait: float = 10.0) -> None:
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30)
        self.client.loop_start()
        if wait and not self.connected.wait(wait):
            logger.warning(
                "MQTT broker %s:%d not reachable yet; retrying in the background",
                self.settings.mqtt_host,
                self.settings.mqtt_port,
            )

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0:
            return
        try:
            info.wait_for_publish(self.publish_timeout)
        except (ValueError, RuntimeError) as exc:
            raise PublishError(f"publish to {topic} failed: {exc}") from None
        if not info.is_published():
            raise PublishError(f"publish to {topic} not acknowledged in {self.publish_timeout}s")

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object
    ) -> None:
        if getattr(rc, "is_failure", False):
            logger.error("MQTT connection refused: %s", rc)
            return
        logger.info("connected to MQTT %s:%d", self.settings.mqtt_host, self.settings.mqtt_port)
        for topic_filter in self.subscriptions:
            client.subscribe(topic_filter, qos=1)
        self.connected.set()

    def _on_disconnect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        self.connected.clear()
        if not self._stopping:
            logger.warning("MQTT disconnected (%s); reconnecting", rc)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        for topic_filter, handler in self.subscriptions.items():
            if mqtt.topic_matches_sub(topic_filter, msg.topic):
                try:
                    handler(msg.topic, msg.payload)
                except Exception:  # one bad message must never kill the network thread
                    logger.exception("handler for %s failed on %s", topic_filter, msg.topic)
