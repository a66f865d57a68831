"""Ingest: events stored once, the playback log kept, acks carry the contiguous seq.

Runs on SQLite and on PostgreSQL (skipped with a message when PostgreSQL is absent).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from broadcaster.ingest import Ingestor, IngestWorker, Rejected
from broadcaster.models import Playback, PlaybackEvent, RejectedMessage, Site
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOPICS = Topics("loa/v1")


@pytest.fixture
def ingest(any_db_url):
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add(Site(id="cum-loa-t1", name="Cụm loa thôn 1"))
    signer = Signer.generate()
    pub = MemoryPublisher()
    yield Ingestor(factory, signer, pub, TOPICS, clock=FakeClock(T0)), factory, pub, signer
    engine.dispose()


def ev(seq: int, kind: str = "started", item: str = "s1-100", outbox: str = "ob1") -> Event:
    return Event(
        id=str(uuid.uuid4()),
        site="cum-loa-t1",
        outbox=outbox,
        seq=seq,
        kind=kind,
        at=T0 + timedelta(seconds=seq),
        item_id=item,
        announcement_id=1,
        scheduled_at=T0,
    )


def payload(e: Event) -> bytes:
    return json.dumps(e.to_dict()).encode()


def test_duplicate_events_are_stored_once(ingest) -> None:
    ingestor, factory, _, _ = ingest
    e = ev(1)
    ingestor.store_events([e])
    ingestor.store_events([e])
    ingestor.store_events([e, e])
    with factory() as s:
        assert s.query(PlaybackEvent).count() == 1


def test_ack_is_the_highest_contiguous_seq(ingest) -> None:
    ingestor, _, _, _ = ingest
    [ack] = ingestor.store_events([ev(1), ev(2), ev(4, "finished")])
    assert ack.seq == 2
    [ack] = ingestor.store_events([ev(3, "finished")])
    assert ack.seq == 4


def test_outboxes_are_acknowledged_separately(ingest) -> None:
    ingestor, _, _, _ = ingest
    acks = ingestor.store_events([ev(1, outbox="old"), ev(1, outbox="new"), ev(2, outbox="new")])
    assert {(a.outbox, a.seq) for a in acks} == {("old", 1), ("new", 2)}


def test_playback_log_row_follows_events_in_any_order(ingest) -> None:
    ingestor, factory, _, _ = ingest
    ingestor.store_events([ev(2, "finished")])
    ingestor.store_events([ev(1, "started")])  # a late resend of "started"
    with factory() as s:
        row = s.query(Playback).one()
        assert row.status == "finished"
        assert row.started_at == T0 + timedelta(seconds=1)
        assert row.finished_at == T0 + timedelta(seconds=2)


def test_acks_are_signed_and_published_at_qos_0(ingest) -> None:
    """QoS 0: an ack is cumulative and the agent resends what is not acked (docs/decisions.md,
    "Acks at QoS 0")."""
    ingestor, _, pub, signer = ingest
    ingestor.send_acks(ingestor.store_events([ev(1)]))
    topic, data, qos, retain = pub.sent[-1]
    assert topic == "loa/v1/sites/cum-loa-t1/ack" and qos == 0 and not retain
    ack = Ack.from_dict(Verifier([signer.public_b64]).open(data))
    assert (ack.outbox, ack.seq) == ("ob1", 1)


@pytest.mark.parametrize(
    "data",
    [b"not json", b"\xff", b"{}", b'{"v":1,"type":"event"}', b"[]", b"x" * 70000],
)
def test_malformed_payloads_are_rejected_and_logged(ingest, data, caplog) -> None:
    ingestor, _, _, _ = ingest
    assert isinstance(ingestor.parse_event(TOPICS.events("cum-loa-t1"), data), Rejected)
    assert "rejected" in caplog.text


def test_event_claiming_another_site_is_rejected(ingest, caplog) -> None:
    ingestor, _, _, _ = ingest
    refused = ingestor.parse_event(TOPICS.events("cum-loa-t2"), payload(ev(1)))
    assert isinstance(refused, Rejected) and refused.reason == "wrong-site"
    assert "claims site" in caplog.text


def test_worker_stores_batches_and_acks(ingest) -> None:
    ingestor, factory, pub, _ = ingest
    worker = IngestWorker(ingestor)
    worker.start()
    for i in range(1, 51):
        worker.on_event(TOPICS.events("cum-loa-t1"), payload(ev(i, item=f"s{i}-1")))
    worker.on_event(TOPICS.events("cum-loa-t1"), b"garbage")
    worker.stop()
    with factory() as s:
        assert s.query(PlaybackEvent).count() == 50
    last = Ack.from_dict(json.loads(pub.sent[-1][1])["payload"])
    assert last.seq == 50


def test_status_updates_site_and_ignores_older(ingest) -> None:
    ingestor, factory, _, _ = ingest
    topic = TOPICS.status("cum-loa-t1")

    def send(status: Status) -> tuple[str, int, datetime | None]:
        ingestor.handle_status(topic, json.dumps(status.to_dict()).encode())
        with factory() as s:
            site = s.get(Site, "cum-loa-t1")
            return site.state, site.reported_plan_version, site.state_at

    assert send(Status("cum-loa-t1", "online", T0, 7)) == ("online", 7, T0)
    assert send(Status("cum-loa-t1", "online", T0 - timedelta(minutes=1), 6)) == ("online", 7, T0)
    # The last will was written at connect time, so it is older than the heartbeats: it still
    # marks the site offline, and the next heartbeat marks it online again.
    will = Status("cum-loa-t1", "offline", T0 - timedelta(minutes=5))
    assert send(will) == ("offline", 7, T0)
    assert send(will) == ("offline", 7, T0)
    later = T0 + timedelta(minutes=1)
    assert send(Status("cum-loa-t1", "online", later, 8)) == ("online", 8, later)


def test_received_shows_until_the_airing_moves_on(ingest) -> None:
    ingestor, factory, _, _ = ingest
    ingestor.store_events([ev(1, "received")])
    with factory() as s:
        assert s.query(Playback).one().status == "received"
    ingestor.store_events([ev(2, "started"), ev(3, "finished")])
    ingestor.store_events([ev(4, "received")])  # a late duplicate command changes nothing
    with factory() as s:
        assert s.query(Playback).one().status == "finished"


# Plan versions are milliseconds since the epoch: past 32 bits (issue 9).
PLAN_VERSION_MS = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)


def status_payload(plan_version: int) -> bytes:
    return json.dumps(Status("cum-loa-t1", "online", T0, plan_version).to_dict()).encode()


def test_a_batch_with_a_status_stores_its_ms_plan_version_and_events(ingest) -> None:
    ingestor, factory, pub, _ = ingest
    worker = IngestWorker(ingestor)
    worker.on_status(TOPICS.status("cum-loa-t1"), status_payload(PLAN_VERSION_MS))
    for i in (1, 2):
        worker.on_event(TOPICS.events("cum-loa-t1"), payload(ev(i)))
    worker.start()  # queued first: one batch of a status and two events
    worker.stop()
    with factory() as s:
        site = s.get(Site, "cum-loa-t1")
        assert (site.state, site.reported_plan_version) == ("online", PLAN_VERSION_MS)
        assert s.query(PlaybackEvent).count() == 2
    assert Ack.from_dict(json.loads(pub.sent[-1][1])["payload"]).seq == 2


def test_a_status_that_cannot_be_stored_does_not_fail_its_batch(ingest, caplog) -> None:
    ingestor, factory, pub, _ = ingest
    worker = IngestWorker(ingestor)
    worker.on_status(TOPICS.status("cum-loa-t1"), status_payload(2**70))  # past BIGINT
    worker.on_event(TOPICS.events("cum-loa-t1"), payload(ev(1)))
    worker.start()
    worker.stop()
    assert "status on loa/v1/sites/cum-loa-t1/status rejected" in caplog.text
    with factory() as s:
        refused = s.query(RejectedMessage).one()
        assert (refused.site_id, refused.kind, refused.reason) == (
            "cum-loa-t1",
            "status",
            "malformed",
        )
        assert "out of range" in refused.detail
        assert s.get(Site, "cum-loa-t1").reported_plan_version == 0
        assert s.query(PlaybackEvent).count() == 1
    assert Ack.from_dict(json.loads(pub.sent[-1][1])["payload"]).seq == 1
