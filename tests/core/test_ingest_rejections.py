"""Issue 10 at ingest, on SQLite and PostgreSQL: a poisoned event costs only itself (refused,
recorded with its reason, acked past), and only airings sent to a site count as proof."""

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
from broadcaster.models import (
    Announcement,
    Emergency,
    IngestCursor,
    Playback,
    PlaybackEvent,
    RejectedMessage,
    ScheduleItem,
    Site,
    User,
    Zone,
)
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.queries.proof import proof_of_broadcast
from broadcaster.queries.reports import ReportFilter, report
from broadcaster.wire.messages import Ack, Event
from broadcaster.wire.plan import Media, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.support.clock import FIXED_NOW

TOPICS = Topics("loa/v1")
T0 = FIXED_NOW
TZ = "Asia/Ho_Chi_Minh"


@pytest.fixture
def rig(any_db_url: str):
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        za, zb = Zone(id="thon-a", name="Thôn A"), Zone(id="thon-b", name="Thôn B")
        s.add_all([Site(id="site-a", name="Cụm A", zones=[za]), Site(id="site-b", name="Cụm B",
                   zones=[zb])])  # fmt: skip
    pub = MemoryPublisher()
    yield Ingestor(factory, Signer.generate(), pub, TOPICS, clock=FakeClock(T0)), factory, pub
    engine.dispose()


def event(seq: int, kind: str = "finished", *, site: str = "site-a", item: str = "occ-1",
          ann: int | None = 1) -> dict[str, Any]:  # fmt: skip
    return Event(
        id=str(uuid.uuid4()),
        site=site,
        outbox="ob",
        seq=seq,
        kind=kind,
        at=T0 + timedelta(seconds=seq),
        item_id=item,
        announcement_id=ann,
        scheduled_at=T0,
    ).to_dict()


def poisoned() -> list[bytes]:
    """Each of the attack's poisoned events, with seqs 2..; the last has no usable seq."""
    texts = []
    deep = event(2)
    texts.append(json.dumps(deep).replace('"detail": ""', '"detail": ' + "[" * 500 + "]" * 500))
    texts.append(json.dumps(event(3)).replace('"seq": 3', '"seq": 3, "late_ms": ' + "9" * 5000))
    year1 = event(4)
    year1["at"] = "0001-01-01T00:00:00+05:00"
    texts.append(json.dumps(year1))
    texts.append(json.dumps(event(5)).replace('"seq": 5', '"seq": 5, "late_ms": Infinity'))
    texts.append(json.dumps(event(6)).replace('"seq": 6', '"seq": 6, "late_ms": NaN'))
    long_item = event(7)
    long_item["item_id"] = "x" * 9000
    texts.append(json.dumps(long_item))
    nul = event(8)
    nul["detail"] = "a\x00b"
    texts.append(json.dumps(nul))
    huge_seq = event(9)
    huge_seq["seq"] = 2**63
    texts.append(json.dumps(huge_seq))
    return [t.encode() for t in texts]


def test_a_poisoned_batch_stores_and_acks_its_valid_events(rig) -> None:
    ingestor, factory, pub = rig
    worker = IngestWorker(ingestor)
    topic = TOPICS.events("site-a")
    worker.on_event(topic, json.dumps(event(1, "started")).encode())
    for data in poisoned():
        worker.on_event(topic, data)
    worker.on_event(topic, json.dumps(event(9, "finished")).encode())
    worker.start()  # everything queued: one batch
    worker.stop()
    with factory() as s:
        assert [e.seq for e in s.scalars(select(PlaybackEvent).order_by(PlaybackEvent.seq))] == [
            1,
            9,
        ]
        refused = list(s.scalars(select(RejectedMessage).order_by(RejectedMessage.id)))
        assert [(r.seq, r.reason) for r in refused] == [
            (2, "malformed"),
            (3, "malformed"),
            (4, "malformed"),
            (5, "malformed"),
            (6, "malformed"),
            (7, "malformed"),
            (8, "malformed"),
            (None, "malformed"),
        ]
        assert all(r.site_id == "site-a" and r.kind == "event" and r.detail for r in refused)
        assert "nested deeper" in refused[0].detail
        assert "event.at" in refused[2].detail
        assert s.get(IngestCursor, ("site-a", "ob")).acked_seq == 9
        assert s.scalars(select(Playback.status)).one() == "finished"
    ack = Ack.from_dict(json.loads(pub.sent[-1][1])["payload"])
    assert (ack.site, ack.seq) == ("site-a", 9)


def test_a_poisoned_event_sent_again_is_recorded_once(rig) -> None:
    ingestor, factory, _ = rig
    bad = poisoned()[2]
    for _ in range(3):
        out = ingestor.parse_event(TOPICS.events("site-a"), bad)
        assert not isinstance(out, Event)
        ingestor.store_events([], [out])
    with factory() as s:
        assert len(list(s.scalars(select(RejectedMessage)))) == 1


def _announcement(s, zone: str, title: str) -> Announcement:  # type: ignore[no-untyped-def]
    user = s.scalar(select(User)) or User(username="u", display_name="U", password_hash="x",
                                          role="admin")  # fmt: skip
    ann = Announcement(
        title=title, body="", priority="normal", status="approved", author=user,
        zones=[s.get(Zone, zone)],
    )  # fmt: skip
    s.add(ann)
    s.flush()
    return ann


def _item(ann_id: int, occ: str) -> PlanItem:
    return PlanItem(occ, T0, "t", ann_id, "normal", Media("ab" * 32, "http://m/a.mp3", 1, 1000))


def test_only_airings_sent_to_the_site_count(rig) -> None:
    ingestor, factory, _ = rig
    with factory() as s, s.begin():
        ann = _announcement(s, "thon-a", "Chỉ thôn A")
        publisher = PlanPublisher(Signer.generate(), MemoryPublisher(), TOPICS, timedelta(hours=48))
        publisher.publish_site(s, "site-a", [_item(ann.id, "occ-a")], T0)
        ann_id = ann.id
    # site-a plays its own airing; site-b claims it played site-a's airing, another airing of
    # the same announcement, and an announcement that does not exist.
    ingestor.store_events(
        [
            Event.from_dict(event(1, site="site-a", item="occ-a", ann=ann_id)),
            Event.from_dict(event(1, site="site-b", item="occ-a", ann=ann_id)),
            Event.from_dict(event(2, site="site-b", item="occ-forged", ann=ann_id)),
            Event.from_dict(event(3, site="site-b", item="s999-1", ann=99999)),
        ]
    )
    with factory() as s:
        rows = {(p.site_id, p.item_id): p.verified for p in s.scalars(select(Playback))}
        assert rows == {
            ("site-a", "occ-a"): True,
            ("site-b", "occ-a"): False,
            ("site-b", "occ-forged"): False,
            ("site-b", "s999-1"): False,
        }
        proof = proof_of_broadcast(s, ann_id, T0 + timedelta(hours=1))
        assert [(p.site_id, p.outcome) for p in proof.sites] == [("site-a", "full")]
        assert proof.coverage == 100.0 and proof.targeted == 1
        assert sorted(a.item_id for _, a in proof.unverified) == ["occ-a", "occ-forged"]
        day = T0.date()
        r = report(s, ReportFilter(start=day, end=day), TZ)
        assert (r.total.planned, r.total.broadcasts) == (1, 1)
        assert [(c.announcement_id, c.played_fully) for c in r.coverage] == [(ann_id, 1)]


def test_an_emergency_command_airing_counts_before_any_plan(rig) -> None:
    ingestor, factory, _ = rig
    with factory() as s, s.begin():
        ann = _announcement(s, "thon-b", "Khẩn cấp thôn B")
        item = ScheduleItem(start_at=T0)
        ann.schedule.append(item)
        s.flush()
        s.add(Emergency(announcement_id=ann.id, reason="lũ", sent_by_id=ann.author_id,
                        sent_at=T0, delivery="command"))  # fmt: skip
        ann_id, occ = ann.id, item.occurrence_id(T0)
    ingestor.store_events(
        [
            Event.from_dict(event(1, "received", site="site-b", item=occ, ann=ann_id)),
            Event.from_dict(event(1, "finished", site="site-a", item=occ, ann=ann_id)),
        ]
    )
    with factory() as s:
        rows = {p.site_id: p.verified for p in s.scalars(select(Playback))}
        assert rows == {"site-b": True, "site-a": False}  # site-a is not in the emergency's zones


def test_a_plan_published_after_the_first_event_verifies_its_row(rig) -> None:
    ingestor, factory, _ = rig
    with factory() as s, s.begin():
        ann_id = _announcement(s, "thon-a", "Muộn").id
    ingestor.store_events([Event.from_dict(event(1, site="site-a", item="occ-late", ann=ann_id))])
    with factory() as s:
        assert s.scalars(select(Playback.verified)).one() is False
    with factory() as s, s.begin():
        publisher = PlanPublisher(Signer.generate(), MemoryPublisher(), TOPICS, timedelta(hours=48))
        publisher.publish_site(s, "site-a", [_item(ann_id, "occ-late")], T0)
    with factory() as s:
        row = s.scalars(select(Playback)).one()
        assert (row.verified, row.status) == (True, "finished")
