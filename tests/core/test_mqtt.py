"""The one MQTT link (``broadcaster.mqtt``) against a real Mosquitto, in MQTT 5 and 3.1.1: QoS 1
waits, TLS with client credentials, last will, resubscribing after a broker restart, persistent
and clean sessions, and client ids unique per process."""

from __future__ import annotations

import gc
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.ingest import ingest_client_id
from broadcaster.mqtt import Link, MqttConfigError, MqttOptions, PublishError, unique_client_id
from broadcaster.wire.topics import Topics
from tests.support.agents import REPO, wait_for
from tests.support.tls import make_tls

PROTOCOLS = ["5", "3.1.1"]


@pytest.fixture(params=PROTOCOLS, ids=lambda p: f"mqtt{p}")
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def server_options(broker: PrivateBroker, protocol: str, **changes: Any) -> MqttOptions:
    values: dict[str, Any] = {
        "port": broker.server_port,
        "username": SERVER_USER,
        "password": broker.server_password,
        "protocol": protocol,
        "keepalive_s": 5,
    }
    return MqttOptions(**{**values, **changes})


class Inbox:
    """A subscription handler that queues what arrives."""

    def __init__(self) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()

    def __call__(self, topic: str, payload: bytes) -> None:
        self.messages.put((topic, payload))

    def get(self, timeout: float = 5.0) -> tuple[str, bytes]:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived within {timeout}s") from None

    def empty_after(self, seconds: float) -> bool:
        time.sleep(seconds)
        return self.messages.empty()


class Links:
    """Links made by one test, all stopped at its end."""

    def __init__(self) -> None:
        self.made: list[Link] = []

    def __call__(self, options: MqttOptions, client_id: str = "", **kwargs: Any) -> Link:
        link = Link(options, client_id or unique_client_id("test"), **kwargs)
        self.made.append(link)
        return link


@pytest.fixture
def links() -> Iterator[Links]:
    made = Links()
    yield made
    for link in made.made:
        link.stop()


def test_publish_waits_for_the_puback_and_reaches_the_subscriber(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    broker.start()
    topic = f"{broker.topics.root}/sites/a/plan"
    inbox = Inbox()
    sub = links(server_options(broker, protocol))
    sub.subscribe(f"{broker.topics.root}/sites/+/plan", inbox)
    assert sub.start(wait=5)
    pub = links(server_options(broker, protocol))
    assert pub.start(wait=5)
    assert pub.client.protocol == sub.protocol == {"5": 5, "3.1.1": 4}[protocol]
    pub.publish(topic, b"plan-1", retain=True)
    assert inbox.get() == (topic, b"plan-1")


def test_publish_many_delivers_them_all_and_reports_a_refusal(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    """Acks go out together (ingest): every one arrives, in order; on MQTT 5 one the ACL
    refuses is an error after the others were sent."""
    account = broker.add_agent("a", ["z"])
    broker.start()
    inbox = Inbox()
    sub = links(server_options(broker, protocol))
    sub.subscribe(f"{broker.topics.root}/sites/+/ack", inbox)
    assert sub.start(wait=5)
    pub = links(server_options(broker, protocol))
    assert pub.start(wait=5)
    sent = [(broker.topics.ack(f"s{n % 7}"), f"ack-{n}".encode()) for n in range(300)]
    pub.publish_many(sent)
    assert [inbox.get() for _ in sent] == sent
    agent = links(
        server_options(
            broker, protocol, port=broker.port, username=account.username,
            password=account.password,
        )
    )  # fmt: skip
    assert agent.start(wait=5)
    mixed = [(broker.topics.events("a"), b"ok"), (broker.topics.ack("a"), b"forged")]
    if protocol == "5":
        with pytest.raises(PublishError, match="refused"):
            agent.publish_many(mixed)
    else:
        agent.publish_many(mixed)
    assert inbox.empty_after(0.5)


def test_a_publish_the_acl_refuses(broker: PrivateBroker, links: Links, protocol: str) -> None:
    """MQTT 5 reports the refusal in the PUBACK and publish() raises; 3.1.1 has no way to say
    so: Mosquitto acknowledges and drops the message."""
    account = broker.add_agent("a", ["z"])
    broker.start()
    inbox = Inbox()
    watcher = links(server_options(broker, protocol))
    watcher.subscribe(broker.topics.plan("a"), inbox)
    assert watcher.start(wait=5)
    agent = links(
        server_options(
            broker,
            protocol,
            port=broker.port,  # the agents' listener
            username=account.username,
            password=account.password,
        )
    )
    assert agent.start(wait=5)
    if protocol == "5":
        with pytest.raises(PublishError, match="refused"):
            agent.publish(broker.topics.plan("a"), b"forged")
    else:
        agent.publish(broker.topics.plan("a"), b"forged")
    agent.publish(broker.topics.events("a"), b"allowed")  # its own topic: accepted
    assert inbox.empty_after(0.5)


# paho-mqtt does not close the socket when a TLS handshake fails before it retries.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tls_with_a_ca_a_client_certificate_and_a_password(
    broker: PrivateBroker, links: Links, protocol: str, tmp_path: Path
) -> None:
    tls = make_tls(tmp_path / "tls")
    broker.tls = tls.broker(require_certificate=True)
    broker.start()
    cert, key = tls.client("server")
    good = server_options(
        broker,
        protocol,
        host="localhost",
        port=broker.server_tls_port,
        tls=True,
        ca_file=str(tls.ca),
        cert_file=str(cert),
        key_file=str(key),
    )
    inbox = Inbox()
    link = links(good)
    link.subscribe(f"{broker.topics.root}/t", inbox)
    assert link.start(wait=5)
    link.publish(f"{broker.topics.root}/t", b"over tls")
    assert inbox.get() == (f"{broker.topics.root}/t", b"over tls")

    foreign_cert, foreign_key = tls.client("intruder", foreign=True)
    refused = {
        "no client certificate": replace(good, cert_file="", key_file=""),
        "a certificate from another CA": replace(
            good, cert_file=str(foreign_cert), key_file=str(foreign_key)
        ),
        "a broker signed by another CA": replace(good, ca_file=str(tls.dir / "other-ca.crt")),
        "a wrong password": replace(good, password="guessed"),
    }
    for why, options in refused.items():
        refused_link = Link(options, unique_client_id("test"))
        try:
            assert not refused_link.start(wait=2), f"connected with {why}"
        finally:
            refused_link.stop()
    gc.collect()  # paho leaves the socket of a failed handshake to the GC: warn here, not later


def test_tls_files_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    options = MqttOptions(tls=True, ca_file=str(tmp_path / "missing.crt"))
    with pytest.raises(MqttConfigError, match="mqtt_ca_file .*missing.crt"):
        Link(options, "x")


def _peer(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.mqtt_peer", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _options_dict(options: MqttOptions) -> dict[str, Any]:
    return asdict(options)


def test_the_last_will_says_offline_when_a_process_dies(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    broker.start()
    topic = broker.topics.status("a")
    options = server_options(broker, protocol)
    peer = _peer({"options": _options_dict(options), "role": "will", "will": [topic, "offline"]})
    try:
        assert peer.stdout is not None
        assert peer.stdout.readline().startswith("id ")
        assert peer.stdout.readline().strip() == "connected"
        inbox = Inbox()
        watcher = links(options)
        watcher.subscribe(topic, inbox)
        assert watcher.start(wait=5)
        assert inbox.empty_after(0.3)
        peer.send_signal(signal.SIGKILL)
        assert inbox.get() == (topic, b"offline")
    finally:
        peer.kill()
        peer.communicate()
    late = Inbox()
    newcomer = links(options)
    newcomer.subscribe(topic, late)
    assert newcomer.start(wait=5)
    assert late.get() == (topic, b"offline")  # retained


def test_two_processes_get_their_own_client_ids(broker: PrivateBroker, protocol: str) -> None:
    broker.start()
    spec = {"options": _options_dict(server_options(broker, protocol)), "role": "web"}
    peers = [_peer(spec), _peer(spec)]
    try:
        ids = []
        for peer in peers:
            assert peer.stdout is not None
            ids.append(peer.stdout.readline().split()[1])
            assert peer.stdout.readline().strip() == "connected"
        assert ids[0] != ids[1] and all(i.startswith("broadcaster-web-") for i in ids)
        assert str(peers[0].pid) in ids[0] and str(peers[1].pid) in ids[1]
        time.sleep(1.5)  # a shared id would make the broker drop one of them by now
    finally:
        logs = [peer.communicate(timeout=10)[1] for peer in peers]
    for peer, log in zip(peers, logs, strict=True):
        assert peer.returncode == 0, log
        assert "disconnected" not in log and "took this session over" not in log, log


def test_a_shared_client_id_is_reported(
    broker: PrivateBroker, links: Links, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two ingest processes configured with the same ingest_worker take turns on the broker;
    the link says so (Mosquitto 2.0 does not send MQTT 5's "session taken over")."""
    broker.start()
    options = server_options(broker, protocol)
    first = links(options, ingest_client_id("1"), persistent=True)
    assert first.start(wait=5)
    with caplog.at_level(logging.ERROR, logger="broadcaster.mqtt"):
        second = links(options, ingest_client_id("1"), persistent=True)
        assert second.start(wait=5)
        wait_for(lambda: "another process" in caplog.text, 20, "the shared client id logged")
    assert "broadcaster-ingest-1" in caplog.text and "ingest_worker" in caplog.text


def test_subscriptions_are_renewed_after_a_broker_restart(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    broker.start()
    topic = broker.topics.events("a")
    inboxes = {"clean": Inbox(), "persistent": Inbox()}
    connects: dict[str, int] = {"clean": 0, "persistent": 0}
    subs = {}
    for kind, inbox in inboxes.items():

        def counted(_present: bool, kind: str = kind) -> None:
            connects[kind] += 1

        subs[kind] = links(
            server_options(broker, protocol),
            f"broadcaster-test-{kind}",
            persistent=kind == "persistent",
            on_connect=counted,
        )
        subs[kind].subscribe(broker.topics.all_events(), inbox)
        assert subs[kind].start(wait=5)
    broker.restart()
    wait_for(lambda: connects == {"clean": 2, "persistent": 2}, 15, "both links reconnected")
    pub = links(server_options(broker, protocol))
    assert pub.start(wait=5)
    pub.publish(topic, b"after restart")
    for inbox in inboxes.values():
        assert inbox.get() == (topic, b"after restart")


def test_a_persistent_session_keeps_messages_while_away_and_a_clean_one_leaves_nothing(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    broker.start()
    topic = broker.topics.events("a")
    pub = links(server_options(broker, protocol))
    assert pub.start(wait=5)
    for persistent in (True, False):
        client_id = f"broadcaster-test-{'persistent' if persistent else 'clean'}"
        present: list[bool] = []
        first = links(server_options(broker, protocol), client_id, persistent=persistent)
        first.subscribe(broker.topics.all_events(), Inbox())
        assert first.start(wait=5)
        first.stop()
        pub.publish(topic, b"while away")
        inbox = Inbox()
        again = links(
            server_options(broker, protocol),
            client_id,
            persistent=persistent,
            on_connect=present.append,
        )
        again.subscribe(broker.topics.all_events(), inbox)
        assert again.start(wait=5)
        if persistent:
            assert present == [True]
            assert inbox.get() == (topic, b"while away")
        else:
            assert present == [False]
            assert inbox.empty_after(0.5)


def test_options_are_checked() -> None:
    assert MqttOptions().validate().protocol == "5"
    with pytest.raises(MqttConfigError, match="mqtt_protocol"):
        MqttOptions(protocol="4").validate()
    with pytest.raises(MqttConfigError, match="mqtt_cert_file is set but mqtt_tls is false"):
        MqttOptions(cert_file="c.pem").validate()
    with pytest.raises(MqttConfigError, match="mqtt_key_file is set but mqtt_cert_file"):
        MqttOptions(tls=True, key_file="k.pem").validate()
    assert "secret" not in repr(MqttOptions(password="secret"))


def test_fallback_brokers_are_tried_after_the_first_and_malformed_ones_refused() -> None:
    from broadcaster.mqtt import MqttConfigError, MqttOptions

    options = MqttOptions(host="10.0.0.1", port=1883, fallback_brokers="10.0.0.2:1884, [::1]:1885")
    assert options.validate().addresses == [("10.0.0.1", 1883), ("10.0.0.2", 1884), ("::1", 1885)]
    for bad in ("10.0.0.2", "10.0.0.2:0", "10.0.0.2:x", ":1883"):
        with pytest.raises(MqttConfigError, match="mqtt_fallback_brokers"):
            MqttOptions(fallback_brokers=bad).validate()


def test_a_shared_subscription_gives_each_message_to_one_worker(
    broker: PrivateBroker, links: Links, protocol: str
) -> None:
    broker.start()
    group = Topics.shared("ingest", broker.topics.all_events())
    inboxes = [Inbox(), Inbox(), Inbox()]
    for n, inbox in enumerate(inboxes):
        link = links(server_options(broker, protocol), f"broadcaster-ingest-w{n}", persistent=True)
        link.subscribe(group, inbox)
        assert link.start(wait=5)
    pub = links(server_options(broker, protocol))
    assert pub.start(wait=5)
    time.sleep(0.3)  # the subscriptions are acknowledged
    sent = {f"event {n}".encode() for n in range(30)}
    for payload in sorted(sent):
        pub.publish(broker.topics.events("a"), payload)
    got: list[list[bytes]] = [[] for _ in inboxes]
    deadline = time.monotonic() + 10
    while sum(map(len, got)) < len(sent) and time.monotonic() < deadline:
        for n, inbox in enumerate(inboxes):
            while not inbox.messages.empty():
                got[n].append(inbox.messages.get()[1])
        time.sleep(0.05)
    assert sorted(b for g in got for b in g) == sorted(sent)  # each one once, none lost
    assert sum(1 for g in got if g) >= 2, [len(g) for g in got]  # shared, not all to one
