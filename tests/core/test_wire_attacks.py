"""Issue 10's wire attacks, replayed with a real client: a private Mosquitto (passwords, ACL),
the server's real ingest process part on it, and paho publishing with a real agent's
credentials (what a stolen Pi can do). Then we look at what the server stored."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.alerts import Thresholds, alerts_for
from broadcaster.broker import AgentAccount, PrivateBroker
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.models import (
    Announcement,
    Playback,
    PlaybackEvent,
    RejectedMessage,
    Site,
    User,
    Zone,
)
from broadcaster.processes import IngestPart
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.queries.health import site_health
from broadcaster.queries.proof import proof_of_broadcast
from broadcaster.wire.messages import Ack, Event
from broadcaster.wire.plan import Media, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.support.clock import FIXED_NOW
from tests.support.process import wait_for

TOPICS = Topics()
T0 = FIXED_NOW


class StolenPi:
    """paho logged in with an agent's own username and password, as its agent would be."""

    def __init__(self, broker: PrivateBroker, account: AgentAccount) -> None:
        self.account = account
        self.acks: list[Ack] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=account.username)
        self.client.username_pw_set(account.username, account.password)
        self.client.on_connect = lambda c, *_: c.subscribe(TOPICS.ack(account.site), qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the agent's login was refused"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.acks.append(Ack.from_dict(json.loads(msg.payload)["payload"]))

    def send(self, payload: bytes) -> None:
        info = self.client.publish(TOPICS.events(self.account.site), payload, qos=1)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def server(
    broker: PrivateBroker, db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], dict[str, AgentAccount]]]:
    accounts = {s: broker.add_agent(s, [f"thon-{s[-1]}"]) for s in ("site-a", "site-b")}
    broker.start()
    with db() as s, s.begin():
        for site in accounts:
            zone = Zone(id=f"thon-{site[-1]}", name=f"Thôn {site[-1].upper()}")
            s.add(Site(id=site, name=f"Cụm loa {site[-1].upper()}", zones=[zone]))
    part = IngestPart(
        settings.replace(**broker.server_mqtt()),
        FakeClock(T0),
    )
    part.start()
    try:
        yield db, accounts
    finally:
        part.stop()


def event(site: str, seq: int, kind: str, item: str, ann: int | None) -> dict[str, Any]:
    return Event(
        str(uuid.uuid4()), site, "ob-1", seq, kind, T0 + timedelta(seconds=seq), item, ann, T0
    ).to_dict()


def test_a_poisoned_event_costs_only_itself(server, broker: PrivateBroker) -> None:
    """The attack: one poisoned event (deep nesting, a 5,000-digit integer, year 1, seq 2^63,
    Infinity) among valid ones made the whole ingest batch fail."""
    factory, accounts = server
    pi = StolenPi(broker, accounts["site-a"])
    try:
        good = [event("site-a", n, "started", f"occ-{n}", 1) for n in (1, 7)]
        poison = [
            json.dumps(event("site-a", 2, "finished", "occ-2", 1)).replace(
                '"detail": ""', '"detail": ' + "[" * 5000 + "]" * 5000
            ),
            json.dumps(event("site-a", 3, "finished", "occ-3", 1)).replace(
                '"seq": 3', '"seq": 3, "late_ms": ' + "7" * 5000
            ),
            json.dumps({**event("site-a", 4, "finished", "occ-4", 1), "at": "0001-01-01T00:00Z"}),
            json.dumps({**event("site-a", 5, "finished", "occ-5", 1), "seq": 2**63}),
            json.dumps(event("site-a", 5, "finished", "occ-5", 1)).replace(
                '"seq": 5', '"seq": 5, "late_ms": Infinity'
            ),
            json.dumps(event("site-a", 6, "finished", "occ-6", 1)).replace(
                '"seq": 6', '"seq": 6, "late_ms": NaN'
            ),
        ]
        pi.send(json.dumps(good[0]).encode())
        for text in poison:
            pi.send(text.encode())
        pi.send(json.dumps(good[1]).encode())
        wait_for(lambda: any(a.seq == 7 for a in pi.acks), 15, "the ack of seq 7")
    finally:
        pi.close()
    with factory() as s:
        stored = [(e.seq, e.item_id) for e in s.scalars(select(PlaybackEvent))]
        assert sorted(stored) == [(1, "occ-1"), (7, "occ-7")]
        refused = list(s.scalars(select(RejectedMessage).order_by(RejectedMessage.id)))
        assert [(r.site_id, r.seq, r.reason) for r in refused] == [
            ("site-a", 2, "malformed"),
            ("site-a", 3, "malformed"),
            ("site-a", 4, "malformed"),
            ("site-a", None, "malformed"),  # seq 2^63 is not a seq
            ("site-a", 5, "malformed"),
            ("site-a", 6, "malformed"),
        ]
        details = [r.detail for r in refused]
        assert "nested deeper than 10" in details[0]
        assert "integer of 5000 digits" in details[1]
        assert "event.at" in details[2] and "out of range" in details[2]
        assert "out of range" in details[3]
        assert "Infinity is not JSON" in details[4] and "NaN is not JSON" in details[5]
        # officers see it on the health page: an alert on site A only
        health = {h.site_id: h for h in site_health(s, T0 + timedelta(minutes=1))}
        assert (health["site-a"].rejected_24h, health["site-b"].rejected_24h) == (6, 0)
        [alert] = alerts_for(health["site-a"], Thresholds(), T0 + timedelta(minutes=1))
        assert alert.kind == "rejected" and "6 messages refused" in alert.detail
        assert "NaN is not JSON" in alert.detail


def test_forged_proof_is_stored_unverified(server, broker: PrivateBroker) -> None:
    """The attack: site B reported airings of an announcement not targeted at it and of one that
    does not exist; the proof page counted B as a targeted site that played fully."""
    factory, accounts = server
    with factory() as s, s.begin():
        user = User(username="u", display_name="U", password_hash="x", role="admin")
        ann, ann_b = (
            Announcement(title=t, body="", priority="normal", status="approved", author=user,
                         zones=[s.get(Zone, z)])
            for t, z in (("Chỉ thôn A", "thon-a"), ("Chỉ thôn B", "thon-b"))
        )  # fmt: skip
        s.add_all([ann, ann_b])
        s.flush()
        media = Media("ab" * 32, "http://m/a.mp3", 1, 1000)
        plans = PlanPublisher(Signer.generate(), MemoryPublisher(), TOPICS, timedelta(hours=48))
        for site, occ, aid in (("site-a", "occ-a", ann.id), ("site-b", "occ-b", ann_b.id)):
            plans.publish_site(s, site, [PlanItem(occ, T0, "t", aid, "normal", media)], T0)
        ann_id, ann_b_id = ann.id, ann_b.id
    a, b = StolenPi(broker, accounts["site-a"]), StolenPi(broker, accounts["site-b"])
    try:
        a.send(json.dumps(event("site-a", 1, "finished", "occ-a", ann_id)).encode())
        forged = [
            event("site-b", 1, "finished", "occ-a", ann_id),  # A's airing
            event("site-b", 2, "finished", "occ-b", ann_id),  # its own airing, claimed as A's
            event("site-b", 3, "finished", "s424242-1", 424242),  # no such announcement
        ]
        for e in forged:
            b.send(json.dumps(e).encode())
        wait_for(lambda: any(k.seq == 3 for k in b.acks), 15, "the ack of B's seq 3")
        wait_for(lambda: any(k.seq == 1 for k in a.acks), 15, "the ack of A's seq 1")
    finally:
        a.close()
        b.close()
    with factory() as s:
        rows = {(p.site_id, p.item_id): (p.verified, p.announcement_id, p.status)
                for p in s.scalars(select(Playback))}  # fmt: skip
        assert rows == {
            ("site-a", "occ-a"): (True, ann_id, "finished"),
            ("site-b", "occ-a"): (False, ann_id, "finished"),
            ("site-b", "occ-b"): (True, ann_b_id, "finished"),  # the plan's, not the claim
            ("site-b", "s424242-1"): (False, 424242, "finished"),
        }
        proof = proof_of_broadcast(s, ann_id, T0 + timedelta(hours=1))
        assert [(p.site_id, p.outcome) for p in proof.sites] == [("site-a", "full")]
        assert (proof.targeted, proof.coverage) == (1, 100.0)
        assert [(name, a.item_id) for name, a in proof.unverified] == [("Cụm loa B", "occ-a")]
