"""Events in batches at ingest, on SQLite and PostgreSQL: each entry judged on its own, a bad
envelope one refusal, a batch sent again stored once, the ack announcing ``batch_max``, and a
batch counted by its events against its site's budget."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from broadcaster.ingest import Ingestor, IngestWorker
from broadcaster.ingest_limits import SiteLimits
from broadcaster.models import IngestCursor, Playback, PlaybackEvent, RejectedMessage, Site
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.batches import BATCH_MAX_EVENTS, EventBatch, pack
from broadcaster.wire.messages import Ack, Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.support.clock import FIXED_NOW

TOPICS = Topics("loa/v1")
T0 = FIXED_NOW
TOPIC = TOPICS.events("site-a")


@pytest.fixture
def rig(any_db_url: str):
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add_all([Site(id="site-a", name="Cụm A"), Site(id="site-b", name="Cụm B")])
    pub = MemoryPublisher()
    yield Ingestor(factory, Signer.generate(), pub, TOPICS, clock=FakeClock(T0)), factory, pub
    engine.dispose()


def event(seq: int, kind: str = "started", *, site: str = "site-a") -> Event:
    return Event(str(uuid.uuid4()), site, "ob", seq, kind, T0 + timedelta(seconds=seq),
                 f"occ-{(seq + 1) // 2}", 1, T0)  # fmt: skip


def batch(entries: list[Any], site: str = "site-a") -> bytes:
    return json.dumps({"v": 1, "type": "events", "site": site, "events": entries}).encode()


def run(ingestor: Ingestor, *payloads: bytes) -> None:
    """Through the worker, as ingest does: everything queued, then one batch."""
    worker = IngestWorker(ingestor)
    for p in payloads:
        worker.on_event(TOPIC, p)
    worker.start()
    worker.stop()


def stored(factory) -> list[int]:
    with factory() as s:
        return list(s.scalars(select(PlaybackEvent.seq).order_by(PlaybackEvent.seq)))


def refused(factory) -> list[tuple[int | None, str, str]]:
    with factory() as s:
        rows = s.scalars(select(RejectedMessage).order_by(RejectedMessage.id))
        return [(r.seq, r.reason, r.detail) for r in rows]


def last_ack(pub: MemoryPublisher) -> Ack:
    return Ack.from_dict(json.loads(pub.sent[-1][1])["payload"])


def test_a_batch_is_stored_and_acked_like_its_events_sent_alone(rig) -> None:
    ingestor, factory, pub = rig
    events = [event(n, "started" if n % 2 else "finished") for n in range(1, 101)]
    payloads = [p for _, p in pack("site-a", events)]
    assert len(payloads) == 2
    run(ingestor, *payloads)
    assert stored(factory) == list(range(1, 101))
    with factory() as s:
        assert s.get(IngestCursor, ("site-a", "ob")).acked_seq == 100
        assert set(s.scalars(select(Playback.status))) == {"finished"}
    ack = last_ack(pub)
    assert (ack.seq, ack.batch_max) == (100, BATCH_MAX_EVENTS)  # the server announces batches


def test_each_entry_is_judged_on_its_own(rig) -> None:
    ingestor, factory, pub = rig
    good = [event(n).to_dict() for n in (1, 2, 4, 7)]
    bad_time = {**event(3).to_dict(), "at": "0001-01-01T00:00:00Z"}
    other_site = event(5, site="site-b").to_dict()
    twice = event(6).to_dict()
    same_seq = {**event(6).to_dict()}  # another id, the same seq: one of the two is kept
    deep = {"a": [[[[1]]]]}
    run(ingestor, batch([good[0], good[1], bad_time, good[2], other_site, twice, twice,
                         same_seq, "not an event", deep, good[3]]))  # fmt: skip
    assert stored(factory) == [1, 2, 4, 6, 7]
    with factory() as s:
        six = s.scalars(select(PlaybackEvent.id).where(PlaybackEvent.seq == 6)).one()
    assert six in (twice["id"], same_seq["id"])
    assert [(seq, reason) for seq, reason, _ in refused(factory)] == [
        (3, "malformed"),
        (5, "wrong-site"),  # recorded under the topic's site: its seq still moves the ack
        (None, "malformed"),
        (None, "unsupported-version"),
    ]
    details = [detail for _, _, detail in refused(factory)]
    assert details[0].startswith("events[2]: event.at")
    assert details[1] == "events[4]: claims site 'site-b'"
    assert details[2].startswith("events[8]: ")
    with factory() as s:
        assert s.get(IngestCursor, ("site-a", "ob")).acked_seq == 7
        rows = list(s.scalars(select(RejectedMessage)))
    assert all(r.site_id == "site-a" and r.kind == "event" for r in rows)
    assert json.loads(rows[0].payload)["at"] == "0001-01-01T00:00:00Z"  # the entry, kept
    assert last_ack(pub).seq == 7


def test_a_bad_envelope_is_one_refusal_and_stores_nothing(rig) -> None:
    ingestor, factory, pub = rig
    ok = [event(n).to_dict() for n in (1, 2)]
    too_many = batch([event(n).to_dict() for n in range(1, BATCH_MAX_EVENTS + 2)])
    oversized = batch([{**e, "detail": "x" * 4000} for e in [event(n).to_dict() for n in
                       range(1, 20)]])  # fmt: skip
    assert len(oversized) > 64 * 1024
    deep = batch([*ok, {"x": [[[[[[[[[[1]]]]]]]]]]}])
    nul = batch([*ok, {**event(3).to_dict(), "detail": "a\x00b"}])
    run(ingestor, too_many, oversized, deep, nul, batch(ok, site="site-b"), batch([]),
        json.dumps({"v": 1, "type": "events", "site": "site-a", "events": 5}).encode())  # fmt: skip
    assert stored(factory) == []
    assert [(seq, reason) for seq, reason, _ in refused(factory)] == [
        (None, "malformed"),
        (None, "too-large"),
        (None, "malformed"),
        (None, "malformed"),
        (None, "wrong-site"),
        (None, "malformed"),
        (None, "malformed"),
    ]
    details = [detail for _, _, detail in refused(factory)]
    assert "51 entries" in details[0] and "nested deeper" in details[2]
    assert details[4] == "batch claims site 'site-b'"
    assert pub.sent == []  # nothing to acknowledge: the agent sends those events again


def test_a_batch_sent_again_is_stored_once(rig) -> None:
    ingestor, factory, pub = rig
    entries = [event(n).to_dict() for n in range(1, 6)]
    entries.insert(2, {**event(99).to_dict(), "at": "yesterday"})
    payload = batch(entries)
    run(ingestor, payload, payload)
    run(ingestor, payload)
    assert stored(factory) == [1, 2, 3, 4, 5]
    assert [(seq, reason) for seq, reason, _ in refused(factory)] == [(99, "malformed")]
    with factory() as s:
        assert len(set(s.scalars(select(PlaybackEvent.id)))) == 5
    assert last_ack(pub).seq == 5


def test_a_server_that_does_not_announce_batches_acks_without_the_field(rig) -> None:
    ingestor, _, pub = rig
    ingestor.batch_max = None
    run(ingestor, json.dumps(event(1).to_dict()).encode())
    assert "batch_max" not in json.loads(pub.sent[-1][1])["payload"]
    assert last_ack(pub).batch_max is None


def test_parse_event_refuses_a_batch_and_parse_events_takes_both(rig) -> None:
    ingestor, _, _ = rig
    payload = json.dumps(EventBatch("site-a", (event(1), event(2))).to_dict()).encode()
    single = ingestor.parse_event(TOPIC, payload)
    assert not isinstance(single, Event) and single.reason == "wrong-type"
    assert [e.seq for e in ingestor.parse_events(TOPIC, payload)] == [1, 2]
    alone = json.dumps(event(3).to_dict()).encode()
    assert ingestor.parse_events(TOPIC, alone) == [ingestor.parse_event(TOPIC, alone)]


def test_a_batch_takes_a_token_per_event_from_its_sites_budget(rig) -> None:
    ingestor, factory, _ = rig
    now = [0.0]
    limits = SiteLimits(TOPICS, rate=1, burst=60, monotonic=lambda: now[0])
    worker = IngestWorker(ingestor, limits=limits)
    first = [p for _, p in pack("site-a", [event(n) for n in range(1, 41)])]
    second = [p for _, p in pack("site-a", [event(n) for n in range(41, 71)])]
    for p in first + second:  # 40 events, then 30: the second batch is over the budget
        worker.on_event(TOPIC, p)
    assert worker.queue_depth() == 1  # the second batch was dropped on arrival
    now[0] += 10.0  # 30 tokens: 20 left and 10 back
    for p in second:
        worker.on_event(TOPIC, p)
    worker.start()
    worker.stop()
    assert stored(factory) == list(range(1, 71))


def test_a_worker_batch_is_bounded_by_events_not_messages(rig) -> None:
    ingestor, _, _ = rig
    worker = IngestWorker(ingestor, batch_size=100, linger_s=0)
    payloads = [p for _, p in pack("site-a", [event(n) for n in range(1, 251)])]
    for p in payloads:
        worker.on_event(TOPIC, p)
    taken, stopping = worker._take(0)
    assert [cost for *_, cost in taken] == [50, 50] and not stopping
