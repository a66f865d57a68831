"""Ingest at scale (issue 12): workers sharing a group store one outbox's events at the same
moment without losing an ack or a playback field, statuses are applied in batches with the
one-at-a-time semantics, acks go out pipelined."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select

from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory
from broadcaster.ingest import Ingestor, IngestWorker
from broadcaster.models import IngestCursor, Playback, PlaybackEvent, Site
from broadcaster.publisher import MemoryPublisher, publish_many
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOPICS = Topics("loa/v1")
SITE = "cum-loa-t1"


def ev(seq: int, kind: str, item: str) -> Event:
    return Event(str(uuid.uuid4()), SITE, "ob1", seq, kind, T0 + timedelta(seconds=seq), item,
                 1, T0)  # fmt: skip


def status(state: str, at: datetime, plan: int = 1, **health: Any) -> tuple[str, bytes]:
    payload = json.dumps(Status(SITE, state, at, plan, **health).to_dict()).encode()
    return TOPICS.status(SITE), payload


class HeldIngestor(Ingestor):
    """Stops inside its transaction, after its acks are computed and before the commit."""

    reached: threading.Event
    release: threading.Event

    def _advance(self, session: Any, touched: Any, now: datetime) -> list[Ack]:
        acks = super()._advance(session, touched, now)
        self.reached.set()
        assert self.release.wait(30)
        return acks


def _waiting_on_a_lock(url: str, pids: list[int]) -> bool:
    """Whether one of the backends ``pids`` waits for a row lock."""
    with psycopg.connect(url.split("?")[0].replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) "
            "AND wait_event_type = 'Lock'",
            (pids,),
        ).fetchone()
    return bool(row and row[0])


def test_two_workers_storing_one_outbox_at_once_lose_neither_ack_nor_field(
    postgres_url: str,
) -> None:
    """Worker A holds its transaction open with seq 1 ("started"); worker B stores seq 2
    ("finished", same airing) meanwhile. B waits for A, then sees A's row and event: the
    airing keeps both times and B's ack covers seq 2."""
    engine = make_engine(postgres_url)
    pids: list[int] = []
    event.listen(engine, "connect", lambda conn, _record: pids.append(conn.info.backend_pid))
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add(Site(id=SITE, name=SITE))
    a = HeldIngestor(factory, Signer.generate(), MemoryPublisher(), TOPICS, FakeClock(T0))
    a.reached, a.release = threading.Event(), threading.Event()
    b = Ingestor(factory, Signer.generate(), MemoryPublisher(), TOPICS, FakeClock(T0))
    out: dict[str, list[Ack]] = {}
    ta = threading.Thread(
        target=lambda: out.setdefault("a", a.store_events([ev(1, "started", "i1")]))
    )
    tb = threading.Thread(
        target=lambda: out.setdefault("b", b.store_events([ev(2, "finished", "i1")]))
    )
    try:
        ta.start()
        assert a.reached.wait(30)
        tb.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(postgres_url, pids):
            assert time.monotonic() < deadline, "worker B never waited for worker A"
            time.sleep(0.05)
    finally:
        a.release.set()
        ta.join(30)
        tb.join(30)
    assert [ack.seq for ack in out["a"]] == [1]
    assert [ack.seq for ack in out["b"]] == [2]
    with factory() as s:
        row = s.scalars(select(Playback)).one()
        assert (row.status, row.started_at, row.finished_at) == (
            "finished",
            T0 + timedelta(seconds=1),
            T0 + timedelta(seconds=2),
        )
        assert s.get(IngestCursor, (SITE, "ob1")).acked_seq == 2
    engine.dispose()


@pytest.fixture
def ingest(any_db_url: str) -> Any:
    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add(Site(id=SITE, name=SITE))
    yield Ingestor(factory, Signer.generate(), MemoryPublisher(), TOPICS, FakeClock(T0)), factory
    engine.dispose()


def test_a_batch_of_statuses_is_applied_in_order_like_one_at_a_time(ingest: Any) -> None:
    ingestor, factory = ingest
    later = T0 + timedelta(minutes=1)
    ingestor.handle_statuses(
        [
            status("online", T0, 7, disk_free_bytes=5, last_error="amp"),
            status("online", T0 - timedelta(minutes=2), 6),  # stale: ignored
            status("offline", T0 - timedelta(minutes=5)),  # the last will: state only
            status("online", later, 8),  # the next heartbeat: online again, error cleared
            (TOPICS.status(SITE), b"not json"),  # refused, stored as such
            (TOPICS.status(SITE), b""),  # a cleared retained status: nothing
        ]
    )
    with factory() as s:
        site = s.get(Site, SITE)
        assert (site.state, site.state_at, site.reported_plan_version) == ("online", later, 8)
        assert (site.disk_free_bytes, site.last_error, site.last_seen_at) == (5, "", T0)
    ingestor.handle_statuses([status("offline", T0 - timedelta(minutes=5))])
    with factory() as s:
        assert s.get(Site, SITE).state == "offline"  # a will after the heartbeats still counts


def test_a_worker_holds_statuses_and_stores_them_together(ingest: Any) -> None:
    ingestor, factory = ingest
    calls: list[int] = []
    handle = ingestor.handle_statuses

    def counted(messages: Sequence[tuple[str, bytes]]) -> None:
        calls.append(len(messages))
        handle(messages)

    ingestor.handle_statuses = counted  # type: ignore[method-assign]
    worker = IngestWorker(ingestor, status_linger_s=3600)  # only stop flushes them
    worker.start()
    for k in range(5):
        worker.on_status(*status("online", T0 + timedelta(seconds=k), k))
    worker.on_event(TOPICS.events(SITE), json.dumps(ev(1, "started", "i1").to_dict()).encode())
    worker.stop()
    assert calls == [5]
    with factory() as s:
        assert s.get(Site, SITE).reported_plan_version == 4
        assert s.scalar(select(func.count()).select_from(PlaybackEvent)) == 1


def test_acks_are_signed_together_and_verify(ingest: Any) -> None:
    ingestor, _ = ingest
    pub: MemoryPublisher = ingestor.publisher
    acks = [Ack(f"site-{n}", "ob1", n, T0) for n in range(3)]
    ingestor.send_acks(acks)
    verifier = Verifier([ingestor.signer.public_b64])
    got = [(t, Ack.from_dict(verifier.open(p))) for t, p, _, _ in pub.sent]
    assert got == [(TOPICS.ack(a.site), a) for a in acks]
    publish_many(pub, [("t", b"x")])  # a publisher without pipelining: one by one
    assert pub.sent[-1] == ("t", b"x", 1, False)
