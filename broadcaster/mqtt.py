"""The one MQTT link (paho-mqtt 2.x) for the server's processes and the Pi agent.

Standard library and paho only, so the agent can import it. A ``Link`` connects in the
background and reconnects by itself, (re)subscribes on every connect, dispatches messages to the
handler of the matching filter, and waits for the broker's PUBACK on QoS 1 publishes. The
protocol (MQTT 5 or 3.1.1), TLS (a CA, optionally a client certificate and key) and the
credentials come from ``MqttOptions``; both configs build one.

Sessions: a *persistent* link (an agent: ``agent-<site>``; a lone ingest worker:
``broadcaster-ingest-<worker>``) keeps a stable client id, so QoS 1 messages wait on the broker
while it is away: MQTT 5 ``clean_start=False`` with a session expiry, 3.1.1 ``clean_session=False``
(no expiry in that protocol: the broker's ``persistent_client_expiration`` bounds it). Every
other link (web, scheduler, CLI) is clean, with a client id unique to the process
(``unique_client_id``), so two processes never take each other's session over and nothing is
left on the broker when they exit. See docs/decisions.md (issue 9).

Every paho callback is guarded: an exception is logged and never kills the network thread.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import re
import secrets
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]

PROTOCOLS = {"5": MQTTProtocolVersion.MQTTv5, "3.1.1": MQTTProtocolVersion.MQTTv311}
SESSION_EXPIRY_S = 7 * 24 * 3600  # a persistent session outlives a week of outage (MQTT 5)
PUBLISH_TIMEOUT_S = 10.0
SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT reason: another client connected with our id
# Dropped this soon after connecting, this many times in a row, looks like another process using
# the same client id: brokers that do not send SESSION_TAKEN_OVER (Mosquitto 2.0, MQTT 3.1.1)
# just close the older connection, and the two clients take turns.
SHORT_CONNECTION_S = 5.0
SHORT_CONNECTIONS = 3
_MAX_REFUSED = 1024  # PUBACK refusals remembered for publish() to report
_MAX_MATCHED = 100_000  # topics whose matching wildcard filters are remembered

# A refused subscription is sent again after 2, 4, 8… s (at most this), less a random part.
RESUBSCRIBE_MAX_S = 60.0


class MqttConfigError(ValueError):
    """An MQTT setting is out of range or inconsistent (the configs re-raise it as theirs)."""


class PublishError(RuntimeError):
    """A QoS 1 publish was not acknowledged, or was refused, by the broker in time."""


@dataclass(frozen=True)
class MqttOptions:
    """Where and how to connect: the part of a config the link needs."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = field(default="", repr=False)
    protocol: str = "5"  # "5" | "3.1.1"
    tls: bool = False
    ca_file: str = ""  # CA that signed the broker's certificate; "" = the system's CAs
    cert_file: str = ""  # client certificate (PEM), when the broker asks for one
    key_file: str = ""  # its private key; "" = in cert_file
    keepalive_s: int = 30
    # Other nodes of the same broker cluster, "host:port,host:port": tried in turn after
    # host:port when a connection fails or drops (the session lives in the cluster).
    fallback_brokers: str = ""

    @classmethod
    def from_config(cls, config: Any, **extra: Any) -> MqttOptions:
        """From a config with the documented ``mqtt_*`` keys (the server's Settings or the
        agent's AgentConfig); ``extra`` sets the rest (e.g. ``keepalive_s``)."""
        return cls(
            host=config.mqtt_host,
            port=config.mqtt_port,
            username=config.mqtt_username,
            password=config.mqtt_password,
            protocol=config.mqtt_protocol,
            tls=config.mqtt_tls,
            ca_file=config.mqtt_ca_file,
            cert_file=config.mqtt_cert_file,
            key_file=config.mqtt_key_file,
            fallback_brokers=config.mqtt_fallback_brokers,
            **extra,
        )

    def validate(self) -> MqttOptions:
        """Raise ``MqttConfigError`` naming the config key (``mqtt_<name>``) at fault."""
        if self.protocol not in PROTOCOLS:
            raise MqttConfigError(f'mqtt_protocol must be "5" or "3.1.1", not {self.protocol!r}')
        if not 0 < self.port < 65536:
            raise MqttConfigError(f"mqtt_port {self.port} is out of range")
        for name in ("ca_file", "cert_file", "key_file"):
            if getattr(self, name) and not self.tls:
                raise MqttConfigError(f"mqtt_{name} is set but mqtt_tls is false")
        if self.key_file and not self.cert_file:
            raise MqttConfigError("mqtt_key_file is set but mqtt_cert_file is empty")
        self.addresses  # noqa: B018 - raises on a malformed mqtt_fallback_brokers
        return self

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """host:port, then each of ``fallback_brokers`` in order."""
        out = [(self.host, self.port)]
        for item in filter(None, (i.strip() for i in self.fallback_brokers.split(","))):
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise MqttConfigError(
                    f"mqtt_fallback_brokers: {item!r} is not host:port (e.g. 10.0.0.2:1883)"
                )
            out.append((host.strip("[]"), int(port)))
        return out

    def tls_context(self) -> ssl.SSLContext:
        """TLS 1.2+, the broker verified against ``ca_file``; a client certificate if given.
        A missing or unreadable file is an ``MqttConfigError`` naming it."""
        try:
            context = ssl.create_default_context(cafile=self.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise MqttConfigError(f"mqtt_ca_file {self.ca_file}: {exc}") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file:
            try:
                context.load_cert_chain(self.cert_file, self.key_file or None)
            except (OSError, ssl.SSLError) as exc:
                raise MqttConfigError(
                    f"mqtt_cert_file {self.cert_file} / mqtt_key_file {self.key_file}: {exc}"
                ) from None
        return context


def unique_client_id(role: str) -> str:
    """``broadcaster-<role>-<host>-<pid>-<random>``: never shared by two processes, and still
    tells an operator reading the broker's log where it comes from."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:24] or "host"
    return f"broadcaster-{role}-{host}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for us when the connection drops without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def _guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Log any exception from a paho callback instead of letting it reach the network loop."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            logger.exception("MQTT callback %s failed", fn.__name__)

    return wrapper


def _unshared(topic_filter: str) -> str:
    """The filter of a shared subscription ``$share/<group>/<filter>`` (what messages match)."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


_paho_logger = logging.getLogger("paho")
_PAHO_LEVELS = {int(level): std for level, std in mqtt.LOGGING_LEVEL.items()}


def _paho_log(_client: mqtt.Client, _userdata: Any, level: int, message: str) -> None:
    """paho's own log, except that its "Client is not connected" (logged as an error on every
    clean stop and every reconnect wait) is debug: the link logs disconnects itself."""
    if message.startswith("Client is not connected"):
        _paho_logger.debug("%s", message)
    else:
        _paho_logger.log(_PAHO_LEVELS.get(level, logging.INFO), "%s", message)


class Link:
    """One paho client: background (re)connect, subscriptions renewed on every connect, handlers
    by topic filter, QoS 1 publishes that wait for the PUBACK."""

    def __init__(
        self,
        options: MqttOptions,
        client_id: str,
        *,
        persistent: bool = False,
        session_expiry_s: int = SESSION_EXPIRY_S,
        will: Will | None = None,
        on_connect: Callable[[bool], None] | None = None,
        publish_timeout: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        """``persistent``: keep the session (and its queued QoS 1 messages) across disconnects;
        needs a stable ``client_id``. ``on_connect(session_present)`` runs on the network thread
        after every successful (re)connect, once the subscriptions are sent."""
        self.options = options.validate()
        self.client_id = client_id
        self.persistent = persistent
        self.session_expiry_s = session_expiry_s
        self.publish_timeout = publish_timeout
        self.on_connect = on_connect
        self.connected = threading.Event()
        self.subscriptions: dict[str, Handler] = {}
        self._wildcards: list[tuple[str, Handler]] = []
        self._exact: dict[str, tuple[str, Handler]] = {}  # topic -> (filter, handler)
        self._matched: dict[str, list[tuple[str, Handler]]] = {}  # topic -> its wildcard matches
        self._qos: dict[str, int] = {}
        self._stopping = False
        self._connected_at = 0.0
        self._short_connections = 0
        self._refused: OrderedDict[int, str] = OrderedDict()
        self._subscribing: dict[int, list[str]] = {}  # SUBSCRIBE message id -> its filters
        self._refusals: dict[str, int] = {}  # filter -> times refused in a row
        self._retries: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._addresses = self.options.addresses
        self._address = 0  # index of the broker node in use
        self.client = self._make_client(will)

    @property
    def where(self) -> str:
        """host:port of the broker node in use (or being tried)."""
        host, port = self._addresses[self._address]
        return f"{host}:{port}"

    def _next_broker(self) -> None:
        """Move to the next node of the cluster for the next (re)connect attempt."""
        if len(self._addresses) < 2:
            return
        self._address = (self._address + 1) % len(self._addresses)
        logger.info("next MQTT connection attempt: broker node %s", self.where)

    def _on_pre_connect(self, client: mqtt.Client, _userdata: Any) -> None:
        # paho reconnects to the host it was given and refuses a new one while it is
        # "connecting", which is when on_pre_connect runs; so set its fields directly (paho
        # 2.x, pinned in constraints.txt: tests/fault/test_nats_cluster.py fails if this breaks).
        client._host, client._port = self._addresses[self._address]  # noqa: SLF001

    @property
    def protocol(self) -> MQTTProtocolVersion:
        return PROTOCOLS[self.options.protocol]

    def _make_client(self, will: Will | None) -> mqtt.Client:
        v5 = self.protocol == MQTTProtocolVersion.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            clean_session=None if v5 else not self.persistent,
        )
        if self.options.username:
            client.username_pw_set(self.options.username, self.options.password or None)
        if self.options.tls:
            client.tls_set_context(self.options.tls_context())
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.reconnect_delay_set(1, 30)
        client.on_log = _paho_log
        client.on_connect = _guarded(self._on_connect)
        client.on_disconnect = _guarded(self._on_disconnect)
        client.on_connect_fail = _guarded(self._on_connect_fail)
        if len(self._addresses) > 1:
            client.on_pre_connect = _guarded(self._on_pre_connect)
        client.on_message = _guarded(self._on_message)
        client.on_subscribe = _guarded(self._on_subscribe)
        client.on_publish = _guarded(self._on_publish)
        return client

    # -- lifecycle ----------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Register a handler; filters are subscribed in registration order on every connect
        (the broker sends retained messages in that order)."""
        self.subscriptions[topic_filter] = handler
        self._qos[topic_filter] = qos
        self._index_filters()
        if self.connected.is_set():
            self._send_subscribe([topic_filter])

    def unsubscribe(self, topic_filter: str) -> None:
        """Forget a filter's handler and tell the broker (not renewed on the next connect)."""
        if self.subscriptions.pop(topic_filter, None) is None:
            return
        self._qos.pop(topic_filter, None)
        self._index_filters()
        if self.connected.is_set():
            self.client.unsubscribe(topic_filter)

    def _index_filters(self) -> None:
        """Filters with wildcards are matched one by one; plain topics (shared or not) by one
        lookup (ingest subscribes to every site's topics by name). Built aside and swapped in,
        the remembered matches last: the network thread reads them meanwhile."""
        wildcards: list[tuple[str, Handler]] = []
        exact: dict[str, tuple[str, Handler]] = {}
        for f, h in list(self.subscriptions.items()):
            topic = _unshared(f)
            if "+" in topic or "#" in topic:
                wildcards.append((f, h))
            else:
                exact[topic] = (f, h)
        self._wildcards, self._exact = wildcards, exact
        self._matched = {}

    def _send_subscribe(self, topic_filters: list[str]) -> None:
        _rc, mid = self.client.subscribe([(t, self._qos[t]) for t in topic_filters])
        if mid is not None:
            with self._lock:
                self._subscribing[mid] = topic_filters

    def start(self, wait: float = 0.0) -> bool:
        """Connect in the background; with ``wait``, block up to that long for the first
        connection. Returns whether connected."""
        properties = None
        clean_start: bool = not self.persistent
        if self.protocol == MQTTProtocolVersion.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self.session_expiry_s if self.persistent else 0
        logger.info(
            "connecting to MQTT %s as %s (MQTT %s%s, %s session)",
            self.where,
            self.client_id,
            self.options.protocol,
            ", TLS" if self.options.tls else "",
            "persistent" if self.persistent else "clean",
        )
        self.client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive_s,
            clean_start=clean_start,
            properties=properties,
        )
        self.client.loop_start()
        if wait and not self.connected.wait(wait):
            logger.warning(
                "MQTT broker %s not reachable yet; retrying in the background", self.where
            )
        return self.connected.is_set()

    def stop(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        self._stopping = True
        with self._lock:
            retries, self._retries = self._retries, set()
        for timer in retries:
            timer.cancel()
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    @property
    def alive(self) -> bool:
        """paho's network thread is running."""
        thread = getattr(self.client, "_thread", None)
        return bool(thread is not None and thread.is_alive())

    # -- publishing ---------------------------------------------------------------------------

    def send(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> mqtt.MQTTMessageInfo | None:
        """Queue a publish without waiting; None when paho refused it (e.g. not connected)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            logger.debug("publish to %s not queued: %s", topic, mqtt.error_string(info.rc))
            return None
        return info

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Deliver or raise ``PublishError``: QoS 1 waits for the PUBACK, and on MQTT 5 a PUBACK
        that refuses the message (e.g. "not authorized") is an error too."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0:
            return
        wait = self.publish_timeout if timeout is None else timeout
        try:
            info.wait_for_publish(wait)
        except (ValueError, RuntimeError) as exc:
            raise PublishError(f"publish to {topic} failed: {exc}") from None
        if not info.is_published():
            raise PublishError(f"publish to {topic} not acknowledged in {wait}s")
        with self._lock:
            refused = self._refused.pop(info.mid, None)
        if refused is not None:
            raise PublishError(f"publish to {topic} refused by the broker: {refused}")

    def publish_many(
        self, messages: Sequence[tuple[str, bytes]], *, qos: int = 1, timeout: float | None = None
    ) -> None:
        """Deliver every message or raise ``PublishError``: all are queued at once and then
        every PUBACK is awaited (one round trip for the lot, not one each; paho keeps at most
        its in-flight window on the wire and sends the rest as PUBACKs come back)."""
        infos = [(t, self.client.publish(t, p, qos=qos)) for t, p in messages]
        if qos == 0:
            return
        wait = self.publish_timeout if timeout is None else timeout
        failures: list[str] = []
        for topic, info in infos:  # each in ``wait`` after the one before: they go in turn
            try:
                info.wait_for_publish(0 if failures else wait)  # after a failure, no more waits
            except (ValueError, RuntimeError) as exc:
                failures.append(f"publish to {topic} failed: {exc}")
                continue
            if not info.is_published():
                failures.append(f"publish to {topic} not acknowledged in {wait}s")
                continue
            with self._lock:
                refused = self._refused.pop(info.mid, None)
            if refused is not None:
                failures.append(f"publish to {topic} refused by the broker: {refused}")
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise PublishError(failures[0] + more)

    # -- paho callbacks (network thread) ------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: Any,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("MQTT connection to %s refused: %s", self.where, reason_code)
            return
        logger.info(
            "connected to MQTT broker %s as %s (session present: %s)",
            self.where,
            self.client_id,
            flags.session_present,
        )
        if self.subscriptions:
            self._send_subscribe(list(self.subscriptions))
        self._connected_at = time.monotonic()
        self.connected.set()
        if self.on_connect is not None:
            self.on_connect(bool(flags.session_present))

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: Any,
        _properties: Properties | None,
    ) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if self._stopping:
            return
        logger.warning(
            "disconnected from MQTT broker %s (%s); reconnecting", self.where, reason_code
        )
        if not was_connected:
            return
        self._next_broker()
        if time.monotonic() - self._connected_at < SHORT_CONNECTION_S:
            self._short_connections += 1
        else:
            self._short_connections = 0
        taken_over = getattr(reason_code, "value", None) == SESSION_TAKEN_OVER
        if taken_over or self._short_connections == SHORT_CONNECTIONS:
            logger.error(
                "the broker dropped %s %s; is another process connected with this client id? "
                "Every process needs its own (ingest: its own ingest_worker setting)",
                self.client_id,
                "and gave its session to another client"
                if taken_over
                else f"{SHORT_CONNECTIONS} times in a row right after connecting",
            )

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        if not self._stopping:
            logger.warning("cannot reach MQTT broker %s", self.where)
            self._next_broker()

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[Any],
        _properties: Properties | None,
    ) -> None:
        with self._lock:
            topic_filters = self._subscribing.pop(mid, [])
        refused = []
        for topic, code in zip(topic_filters, reason_codes, strict=False):
            if code.is_failure:
                refused.append((topic, code))
            else:
                self._refusals.pop(topic, None)
        if refused:
            self._subscribe_later(refused)

    def _subscribe_later(self, refused: list[tuple[str, Any]]) -> None:
        """A broker can refuse a subscription for a while: NATS does when it cannot create the
        session's JetStream consumer within its 4 s (hundreds of agents connecting at once).
        Connected without it, the link would miss those messages until its next connect; so
        send the filters again after a growing delay, less a random part so that the agents
        refused together do not all come back together."""
        tries = 1 + max(self._refusals.get(topic, 0) for topic, _ in refused)
        delay = min(RESUBSCRIBE_MAX_S, 2.0**tries) * random.uniform(0.5, 1.0)  # noqa: S311
        for topic, code in refused:
            self._refusals[topic] = tries
            logger.error(
                "subscription to %s refused by %s: %s; subscribing again in %.1f s",
                topic,
                self.where,
                code,
                delay,
            )
        timer = threading.Timer(delay, _guarded(self._resubscribe), args=([t for t, _ in refused],))
        timer.daemon = True
        with self._lock:
            if self._stopping:
                return
            self._retries.add(timer)
        timer.start()

    def _resubscribe(self, topic_filters: list[str]) -> None:
        with self._lock:
            self._retries = {
                t for t in self._retries if t.is_alive() and t is not threading.current_thread()
            }
        wanted = [t for t in topic_filters if t in self.subscriptions]
        # when not connected, the next connect subscribes to every filter anyway
        if wanted and self.connected.is_set() and not self._stopping:
            self._send_subscribe(wanted)

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_code: Any,
        _properties: Properties | None,
    ) -> None:
        # The latest outcome per message id: a success clears a refusal left by an earlier
        # message with the same (recycled) id.
        with self._lock:
            if not reason_code.is_failure:
                self._refused.pop(mid, None)
                return
            logger.warning("the broker refused publish %d: %s", mid, reason_code)
            self._refused[mid] = str(reason_code)
            while len(self._refused) > _MAX_REFUSED:
                self._refused.popitem(last=False)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        remembered = self._matched  # before the filters: a reindex swaps it in last
        matched = remembered.get(msg.topic)
        if matched is None:  # remembered per topic: ingest sees the same few per site
            if len(remembered) >= _MAX_MATCHED:
                remembered.clear()
            matched = remembered[msg.topic] = [
                (f, h)
                for f, h in self._wildcards
                if mqtt.topic_matches_sub(_unshared(f), msg.topic)
            ]
        matching = list(matched)
        exact = self._exact.get(msg.topic)
        if exact is not None:
            matching.append(exact)
        for topic_filter, handler in matching:
            try:
                handler(msg.topic, payload)
            except Exception:  # one bad message must never kill the network thread
                logger.exception("handler for %s failed on %s", topic_filter, msg.topic)
