"""Batched ingest on SQLite and PostgreSQL: bursts, duplicates inside a batch, health fields."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from broadcaster.ingest import Ingestor
from broadcaster.models import IngestCursor, Playback, PlaybackEvent, Site
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.messages import Event, Status
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOPICS = Topics("loa/v1")
SITES = [f"site-{i:03d}" for i in range(40)]


@pytest.fixture
def ingest(any_db_url):
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add_all(Site(id=sid, name=sid) for sid in SITES)
    yield (
        Ingestor(factory, Signer.generate(), MemoryPublisher(), TOPICS, clock=FakeClock(T0)),
        factory,
    )
    engine.dispose()


def ev(site: str, seq: int, kind: str, item: str) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        site=site,
        outbox="ob",
        seq=seq,
        kind=kind,
        at=T0 + timedelta(seconds=seq),
        item_id=item,
        announcement_id=1,
        scheduled_at=T0,
    )


def test_a_burst_of_many_sites_is_one_batch_and_idempotent(ingest) -> None:
    ingestor, factory = ingest
    events = []
    for site in SITES:
        for n in range(10):
            events.append(ev(site, 2 * n + 1, "started", f"i{n}"))
            events.append(ev(site, 2 * n + 2, "finished", f"i{n}"))
    acks = ingestor.store_events(events)
    assert {a.seq for a in acks} == {20} and len(acks) == len(SITES)
    again = ingestor.store_events(events + events[:5])  # resend + duplicates inside the batch
    assert {a.seq for a in again} == {20}
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(PlaybackEvent)) == 800
        assert s.scalar(select(func.count()).select_from(Playback)) == 400
        assert set(s.scalars(select(Playback.status))) == {"finished"}
        assert set(s.scalars(select(Site.last_seen_at))) == {T0}


def test_same_seq_other_id_is_ignored_and_gaps_hold_the_ack(ingest, caplog) -> None:
    ingestor, factory = ingest
    site = SITES[0]
    [ack] = ingestor.store_events([ev(site, 1, "started", "a"), ev(site, 3, "started", "c")])
    assert ack.seq == 1
    [ack] = ingestor.store_events([ev(site, 1, "failed", "a"), ev(site, 2, "started", "b")])
    assert ack.seq == 3
    assert "reuses seq 1" in caplog.text
    with factory() as s:
        assert s.get(IngestCursor, (site, "ob")).acked_seq == 3
        assert s.scalars(select(Playback.status).where(Playback.item_id == "a")).one() == "started"


def test_event_without_schedule_time_is_logged_at_its_own_time(ingest) -> None:
    ingestor, factory = ingest
    e = Event(str(uuid.uuid4()), SITES[1], "ob", 1, "rejected", T0, item_id="x", detail="stale")
    ingestor.store_events([e])
    with factory() as s:
        row = s.scalars(select(Playback)).one()
        assert (row.status, row.scheduled_at, row.detail) == ("rejected", T0, "stale")


def test_status_heartbeat_health_fields_are_stored(ingest) -> None:
    ingestor, factory = ingest
    beat = Status(SITES[2], "online", T0, plan_version=9, disk_free_bytes=5_000_000_000,
                  cpu_temp_c=61.5, clock_offset_ms=-340.4, last_error="amp relay stuck",
                  keys_version=1765000000000)  # fmt: skip
    ingestor.handle_status(TOPICS.status(SITES[2]), json.dumps(beat.to_dict()).encode())
    with factory() as s:
        site = s.get(Site, SITES[2])
        assert (site.disk_free_bytes, site.cpu_temp_c, site.clock_offset_ms) == (
            5_000_000_000,
            61.5,
            -340,
        )
        assert site.last_error == "amp relay stuck" and site.last_seen_at == T0
        assert site.keys_version == 1765000000000  # the key page counts sites behind by it
    # an old agent's heartbeat (no health fields) keeps the last known values, clears the error
    old = Status(SITES[2], "online", T0 + timedelta(minutes=1), plan_version=9)
    ingestor.handle_status(TOPICS.status(SITES[2]), json.dumps(old.to_dict()).encode())
    with factory() as s:
        site = s.get(Site, SITES[2])
        assert site.cpu_temp_c == 61.5 and site.last_error == ""
        assert site.keys_version == 1765000000000
