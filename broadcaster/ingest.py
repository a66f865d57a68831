"""Event ingest: store playback events idempotently, keep the playback log, acknowledge.

Messages arrive on the MQTT network thread and are queued; one worker thread stores them in
batches and publishes a signed Ack per (site, outbox) with the highest contiguous seq stored.
The agent deletes events from its outbox only then, so none is lost and none stored twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import IngestCursor, Playback, PlaybackEvent, Site, utcnow
from broadcaster.publish import Publisher
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
# Which event kinds may replace which playback status (terminal states are never undone
# by a late "started").
TERMINAL = {"finished", "failed", "skipped", "interrupted", "expired", "rejected"}


@dataclass
class Ingestor:
    """Turns event and status payloads into rows; callable from any single thread."""

    factory: sessionmaker[Session]
    signer: Signer
    publisher: Publisher
    topics: Topics
    clock: Callable[[], datetime] = utcnow

    def parse_event(self, topic: str, payload: bytes) -> Event | None:
        site = self.topics.site_from(topic)
        if len(payload) > MAX_PAYLOAD:
            logger.warning("event on %s rejected: %d bytes is too large", topic, len(payload))
            return None
        try:
            event = Event.from_dict(json.loads(payload))
        except (UnicodeDecodeError, json.JSONDecodeError):
            logger.warning("event on %s rejected: not JSON", topic)
            return None
        except ProtocolError as exc:
            logger.warning("event on %s rejected: %s", topic, exc)
            return None
        if event.site != site:
            logger.warning("event on %s rejected: claims site %r", topic, event.site)
            return None
        return event

    def store_events(self, events: list[Event]) -> list[Ack]:
        """Store a batch idempotently; return the acks to send."""
        touched: set[tuple[str, str]] = set()
        with self.factory() as session, session.begin():
            for event in events:
                if self._store_one(session, event):
                    self._apply_to_log(session, event)
                touched.add((event.site, event.outbox))
            acks = [self._advance(session, site, outbox) for site, outbox in sorted(touched)]
        return acks

    def send_acks(self, acks: list[Ack]) -> None:
        for ack in acks:
            self.publisher.publish(
                self.topics.ack(ack.site), self.signer.sign(ack.to_dict()), qos=1
            )

    def handle_status(self, topic: str, payload: bytes) -> None:
        site = self.topics.site_from(topic)
        if not payload:  # a cleared retained message
            return
        try:
            status = Status.from_dict(json.loads(payload))
        except (UnicodeDecodeError, json.JSONDecodeError, ProtocolError) as exc:
            logger.warning("status on %s rejected: %s", topic, exc)
            return
        if status.site != site:
            logger.warning("status on %s rejected: claims site %r", topic, status.site)
            return
        with self.factory() as session, session.begin():
            row = session.get(Site, site)
            if row is None:
                logger.warning("status from unknown site %r ignored", site)
                return
            if row.state_at and status.at < row.state_at:
                return  # an older retained status
            row.state, row.state_at = status.state, status.at
            row.reported_plan_version = status.plan_version
            row.agent_version = status.agent_version

    # -- internals -------------------------------------------------------------------------

    def _store_one(self, session: Session, event: Event) -> bool:
        """Insert unless already stored (by id or by site/outbox/seq); True if new."""
        if session.get(PlaybackEvent, event.id) is not None:
            return False
        dup = session.scalar(
            select(PlaybackEvent.id).where(
                PlaybackEvent.site_id == event.site,
                PlaybackEvent.outbox == event.outbox,
                PlaybackEvent.seq == event.seq,
            )
        )
        if dup is not None:
            logger.warning(
                "event %s from %s reuses seq %d of event %s; ignored",
                event.id,
                event.site,
                event.seq,
                dup,
            )
            return False
        session.add(
            PlaybackEvent(
                id=event.id,
                site_id=event.site,
                outbox=event.outbox,
                seq=event.seq,
                kind=event.kind,
                at=event.at,
                item_id=event.item_id,
                announcement_id=event.announcement_id,
                scheduled_at=event.scheduled_at,
                detail=event.detail,
                received_at=self.clock(),
            )
        )
        session.flush()
        return True

    def _apply_to_log(self, session: Session, event: Event) -> None:
        if event.item_id is None:
            return
        row = session.scalar(
            select(Playback).where(
                Playback.site_id == event.site, Playback.item_id == event.item_id
            )
        )
        if row is None:
            row = Playback(
                site_id=event.site,
                item_id=event.item_id,
                announcement_id=event.announcement_id,
                scheduled_at=event.scheduled_at,
                status="scheduled",
            )
            session.add(row)
        if event.scheduled_at and row.scheduled_at is None:
            row.scheduled_at = event.scheduled_at
        if event.kind == "started":
            row.started_at = event.at
            if row.status not in TERMINAL:
                row.status = "started"
        else:
            if event.kind in ("finished", "interrupted"):
                row.finished_at = event.at
            row.status = event.kind
            if event.detail:
                row.detail = event.detail
        row.updated_at = self.clock()
        session.flush()

    def _advance(self, session: Session, site: str, outbox: str) -> Ack:
        cursor = session.get(IngestCursor, (site, outbox))
        if cursor is None:
            cursor = IngestCursor(site_id=site, outbox=outbox, acked_seq=0)
            session.add(cursor)
        seqs = session.scalars(
            select(PlaybackEvent.seq)
            .where(
                PlaybackEvent.site_id == site,
                PlaybackEvent.outbox == outbox,
                PlaybackEvent.seq > cursor.acked_seq,
            )
            .order_by(PlaybackEvent.seq)
        )
        for seq in seqs:
            if seq != cursor.acked_seq + 1:
                break
            cursor.acked_seq = seq
        return Ack(site=site, outbox=outbox, seq=cursor.acked_seq, issued_at=self.clock())


@dataclass
class IngestWorker:
    """Queues payloads from the MQTT thread and stores them in batches on its own thread,
    so the network thread never waits on the database."""

    ingestor: Ingestor
    batch_size: int = 500
    _queue: queue.Queue[tuple[str, str, bytes] | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None

    def on_event(self, topic: str, payload: bytes) -> None:
        self._queue.put(("event", topic, payload))

    def on_status(self, topic: str, payload: bytes) -> None:
        self._queue.put(("status", topic, payload))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.batch_size:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            try:
                self._process(batch)
            except Exception:  # the worker must outlive any one batch
                logger.exception("ingest batch of %d failed; agents will resend", len(batch))

    def _process(self, batch: list[tuple[str, str, bytes]]) -> None:
        for kind, topic, payload in batch:
            if kind == "status":
                self.ingestor.handle_status(topic, payload)
        parsed = (self.ingestor.parse_event(t, p) for k, t, p in batch if k == "event")
        events = [e for e in parsed if e is not None]
        if not events:
            return
        try:
            acks = self.ingestor.store_events(events)
        except IntegrityError:
            # Another ingest worker stored some of these at the same moment: go one by one;
            # an event that still clashes is acknowledged when its agent resends it.
            logger.info("concurrent insert; retrying %d events one by one", len(events))
            acks = []
            for event in events:
                try:
                    acks += self.ingestor.store_events([event])
                except IntegrityError:
                    continue
        self.ingestor.send_acks(acks)
