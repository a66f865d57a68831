"""Event ingest: store playback events idempotently, keep the playback log, acknowledge.

Messages arrive on the MQTT network thread and are queued; one worker thread stores them in
batches and publishes a signed Ack per (site, outbox) with the highest contiguous seq stored.
The agent deletes events from its outbox only then, so none is lost and none stored twice.

Each message is judged on its own (issue 10): a refused one becomes a :class:`Rejected`, stored
in ``rejected_messages`` with its reason, and the ack moves past its seq when it names one, so it
never costs the other events of its batch or of its outbox. An event about an airing that was
neither in the site's published plan nor in a command sent to it makes an unverified log row
(``Playback.verified`` false), which proof, coverage and reports never count.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, tuple_, union, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.airings import commanded
from broadcaster.clock import Clock
from broadcaster.ingest_limits import SiteLimits
from broadcaster.metrics.process import EVENTS_STORED
from broadcaster.models import IngestCursor, Playback, PlaybackEvent, RejectedMessage, Site
from broadcaster.publisher import Publisher
from broadcaster.wire import bounded
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.fields import INT32, SHORT, require
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
KEEP_PAYLOAD = 2000  # characters of a refused message kept with its rejection
OUTBOX_RE = re.compile(r'"outbox"\s*:\s*"([A-Za-z0-9._:-]{1,64})"')
SEQ_RE = re.compile(r'"seq"\s*:\s*([0-9]{1,10})(?![0-9.eE])')
# Which event kinds may replace which playback status (terminal states are never undone
# by a late "started").
TERMINAL = {"finished", "failed", "skipped", "interrupted", "expired", "rejected"}
# Rows per IN (...) list: well under SQLite's 32,766 bound parameters with 3-column tuples.
CHUNK = 500
T = TypeVar("T")


def ingest_client_id(worker: str) -> str:
    """The MQTT client id of ingest worker ``worker`` (the ``ingest_worker`` setting): stable
    across restarts, so a lone worker's persistent session holds the events that arrive
    meanwhile (workers sharing a group take clean sessions: ``IngestPart``)."""
    return f"broadcaster-ingest-{worker}"


@dataclass(frozen=True)
class Rejected:
    """A message from ``site`` (the topic's, i.e. the broker login's) that ingest refused."""

    site: str
    kind: str  # "event" | "status"
    reason: str  # a ProtocolError reason, "wrong-site", "too-large" or "unstorable"
    detail: str
    payload: bytes = b""
    outbox: str | None = None  # when the refused event still names its outbox and seq
    seq: int | None = None

    @classmethod
    def of(cls, site: str, kind: str, reason: str, detail: str, payload: bytes) -> Rejected:
        outbox, seq = _outbox_seq(payload) if kind == "event" else (None, None)
        return cls(site, kind, reason, detail[:1000], payload, outbox, seq)

    def row(self, received_at: datetime) -> dict[str, Any]:
        text = self.payload[: KEEP_PAYLOAD * 4].decode("utf-8", "replace")
        return {
            "site_id": self.site[:64],
            "kind": self.kind,
            "outbox": self.outbox,
            "seq": self.seq,
            "reason": self.reason[:32],
            "detail": self.detail,
            "payload": text[:KEEP_PAYLOAD].replace("\x00", "\ufffd"),
            "received_at": received_at,
        }


def _outbox_seq(payload: bytes) -> tuple[str | None, int | None]:
    """The outbox and seq a refused event names, read from its top-level members when they are
    valid on their own, or else found in the raw text when each appears exactly once (the
    payload may not parse at all). Only the sending site's own cursor depends on them."""
    try:
        d = bounded.loads(payload, MAX_PAYLOAD)
        return require(d, "outbox", str, "event", SHORT), require(d, "seq", int, "event", INT32)
    except ProtocolError:
        pass
    text = payload.decode("utf-8", "replace")
    outboxes, seqs = OUTBOX_RE.findall(text), SEQ_RE.findall(text)
    if len(outboxes) != 1 or len(seqs) != 1 or not 1 <= int(seqs[0]) < 2**31:
        return None, None
    return outboxes[0], int(seqs[0])


@dataclass
class Ingestor:
    """Turns event and status payloads into rows; callable from any single thread."""

    factory: sessionmaker[Session]
    signer: Signer
    publisher: Publisher
    topics: Topics
    clock: Clock

    def parse_event(self, topic: str, payload: bytes) -> Event | Rejected:
        """The event, or why it is refused (logged; the caller stores the rejection)."""
        site = self.topics.site_from(topic) or ""
        if len(payload) > MAX_PAYLOAD:
            out = Rejected(site, "event", "too-large", f"{len(payload)} bytes", payload[:100])
        else:
            try:
                event = Event.from_dict(bounded.loads(payload, MAX_PAYLOAD))
            except ProtocolError as exc:
                out = Rejected.of(site, "event", exc.reason, exc.detail, payload)
            else:
                if event.site == site:
                    return event
                out = Rejected.of(
                    site, "event", "wrong-site", f"claims site {event.site!r}", payload
                )
        logger.warning("event on %s rejected (%s): %s", topic, out.reason, out.detail[:200])
        return out

    def store_events(self, events: list[Event], rejected: Sequence[Rejected] = ()) -> list[Ack]:
        """Store a batch idempotently in one transaction; return the acks to send.

        Bulk throughout: one query finds the ids already stored, one the (site, outbox, seq)
        already taken, one the playback rows to update, one the cursors; inserts are executemany.
        Rejections are stored beside the events; a refused event's seq counts as stored for the
        ack (it will never become valid by being sent again).
        """
        now = self.clock.now()
        with self.factory() as session, session.begin():
            new = self._new_events(session, events)
            if new:
                units = _site_units(session, {e.site for e in new})
                session.connection().execute(
                    EVENTS.insert(), [_event_row(e, now, units.get(e.site)) for e in new]
                )
                self._apply_to_log(session, new, now, units)
            refused = self._new_rejections(session, rejected)
            if refused:
                session.connection().execute(REJECTED.insert(), [r.row(now) for r in refused])
            touched = sorted(
                {(e.site, e.outbox) for e in events}
                | {(r.site, r.outbox) for r in rejected if r.outbox is not None}
            )
            acks = self._advance(session, touched, now)
            sites = sorted({e.site for e in events})
            for chunk in _chunks(sites):
                session.execute(
                    update(Site).where(Site.id.in_(chunk)).values(last_seen_at=now),
                    execution_options={"synchronize_session": False},
                )
        EVENTS_STORED.inc(len(new))  # committed
        return acks

    def store_each(self, events: list[Event], rejected: Sequence[Rejected] = ()) -> list[Ack]:
        """Store one message per transaction, after the batch failed: an event that clashes with
        another ingest worker's insert is acked when its agent resends it; one the database
        refuses on its own is stored as a rejection ("unstorable")."""
        acks: list[Ack] = []
        for r in rejected:
            acks += self._try_store([], [r])
        for event in events:
            acks += self._try_store([event], [])
        return acks

    def _try_store(self, events: list[Event], rejected: list[Rejected]) -> list[Ack]:
        try:
            return self.store_events(events, rejected)
        except IntegrityError:
            return []
        except DBAPIError as exc:
            if not events:
                logger.error("rejection from %s not stored: %s", rejected[0].site, exc)
                return []
            e = events[0]
            logger.error("event %s from %s not storable: %s", e.id, e.site, exc)
            detail = f"not storable: {type(exc.orig).__name__}"
            refusal = Rejected(e.site, "event", "unstorable", detail, b"", e.outbox, e.seq)
            return self._try_store([], [refusal])

    def record_rejections(self, rejected: Sequence[Rejected]) -> None:
        """Store refused messages that carry no events (e.g. a status)."""
        if rejected:
            self.store_events([], rejected)

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
            status = Status.from_dict(bounded.loads(payload, MAX_PAYLOAD))
        except ProtocolError as exc:
            logger.warning("status on %s rejected: %s", topic, exc)
            self.record_rejections(
                [Rejected.of(site or "", "status", exc.reason, exc.detail, payload)]
            )
            return
        if status.site != site:
            logger.warning("status on %s rejected: claims site %r", topic, status.site)
            detail = f"claims site {status.site!r}"
            self.record_rejections(
                [Rejected.of(site or "", "status", "wrong-site", detail, payload)]
            )
            return
        with self.factory() as session, session.begin():
            row = session.get(Site, site)
            if row is None:
                logger.warning("status from unknown site %r ignored", site)
                return
            if row.state_at and status.at < row.state_at:
                # An older "offline" after "online" is the agent's last will: the broker sends
                # it when the connection drops, but the agent wrote it (and its time) when it
                # connected. It changes the state only; the next heartbeat is newer again.
                if status.state == "offline" and row.state == "online":
                    row.state = "offline"
                return  # any other older status is stale
            row.state, row.state_at = status.state, status.at
            row.reported_plan_version = status.plan_version
            row.agent_version = status.agent_version
            if status.state == "online":
                row.last_seen_at = max(self.clock.now(), row.last_seen_at or status.at)
                for name, value in health_fields(status).items():
                    setattr(row, name, value)

    # -- internals -------------------------------------------------------------------------

    def _new_events(self, session: Session, events: list[Event]) -> list[Event]:
        """The events not stored yet (by id, nor by site/outbox/seq), in arrival order."""
        unique: dict[str, Event] = {}
        for e in events:
            unique.setdefault(e.id, e)
        ids = list(unique)
        known: set[str] = set()
        for chunk in _chunks(ids):
            known.update(
                session.scalars(select(PlaybackEvent.id).where(PlaybackEvent.id.in_(chunk)))
            )
        candidates = [e for e in unique.values() if e.id not in known]
        keys = [(e.site, e.outbox, e.seq) for e in candidates]
        taken: dict[tuple[str, str, int], str] = {}
        for key_chunk in _chunks(keys):
            for site, outbox, seq, eid in session.execute(
                select(
                    PlaybackEvent.site_id, PlaybackEvent.outbox, PlaybackEvent.seq, PlaybackEvent.id
                ).where(
                    tuple_(PlaybackEvent.site_id, PlaybackEvent.outbox, PlaybackEvent.seq).in_(
                        key_chunk
                    )
                )
            ):
                taken[(site, outbox, seq)] = eid
        out = []
        for e in candidates:
            key = (e.site, e.outbox, e.seq)
            if key in taken:
                logger.warning(
                    "event %s from %s reuses seq %d of event %s; ignored",
                    e.id,
                    e.site,
                    e.seq,
                    taken[key],
                )
                continue
            taken[key] = e.id
            out.append(e)
        return out

    def _new_rejections(self, session: Session, rejected: Sequence[Rejected]) -> list[Rejected]:
        """The rejections to store: a refused event sent again (same outbox and seq) is kept
        once."""
        keyed = [r for r in rejected if r.outbox is not None and r.seq is not None]
        keys = sorted({(r.site, r.outbox or "", r.seq or 0) for r in keyed})
        known: set[tuple[str, str | None, int | None]] = set()
        columns = (RejectedMessage.site_id, RejectedMessage.outbox, RejectedMessage.seq)
        for chunk in _chunks(keys):
            found = session.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
            known.update((site, outbox, seq) for site, outbox, seq in found)
        out = []
        for r in rejected:
            if r.outbox is not None and r.seq is not None:
                key = (r.site, r.outbox, r.seq)
                if key in known:
                    continue
                known.add(key)
            out.append(r)
        return out

    def _apply_to_log(
        self, session: Session, events: list[Event], now: datetime, units: dict[str, int]
    ) -> None:
        """Fold the events into the playback rows: bulk load, update in memory, bulk write."""
        keys = sorted({(e.site, e.item_id) for e in events if e.item_id is not None})
        if not keys:
            return
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for chunk in _chunks(keys):
            for r in session.execute(
                select(*LOG_COLUMNS).where(tuple_(Playback.site_id, Playback.item_id).in_(chunk))
            ):
                rows[(r.site_id, r.item_id)] = dict(r._mapping)
        existing = set(rows)
        claims = {
            (e.site, e.item_id, e.announcement_id)
            for e in events
            if e.item_id is not None and (e.site, e.item_id) not in existing
        }
        sent = commanded(session, claims) if claims else set()
        for e in events:
            if e.item_id is None:
                continue
            row = rows.get((e.site, e.item_id))
            if row is None:
                row = rows[(e.site, e.item_id)] = {
                    "site_id": e.site,
                    "item_id": e.item_id,
                    "announcement_id": e.announcement_id,
                    "scheduled_at": e.scheduled_at or e.at,
                    "started_at": None,
                    "finished_at": None,
                    "status": "scheduled",
                    "detail": "",
                    # Not in the site's published plan (no row yet): proof only if a command
                    # sent it this airing.
                    "verified": (e.site, e.item_id, e.announcement_id) in sent,
                    "unit_id": units.get(e.site),  # the unit it airs under, kept for good
                }
            if row["status"] == "scheduled":  # its first report: the unit it airs under
                row["unit_id"] = units.get(e.site, row["unit_id"])
            fold_event(row, e)
            row["updated_at"] = now
        updates = [r for k, r in rows.items() if k in existing and "updated_at" in r]
        inserts = [r for k, r in rows.items() if k not in existing]
        conn = session.connection()
        if updates:
            conn.execute(UPDATE_LOG, [{"b_id": r["id"], **_log_values(r)} for r in updates])
        if inserts:
            conn.execute(LOGS.insert(), [{"updated_at": now, **r} for r in inserts])

    def _advance(
        self, session: Session, touched: list[tuple[str, str]], now: datetime
    ) -> list[Ack]:
        """Move each (site, outbox) cursor over the contiguous seqs now stored."""
        cursors: dict[tuple[str, str], int] = {}
        for chunk in _chunks(touched):
            for site, outbox, acked in session.execute(
                select(IngestCursor.site_id, IngestCursor.outbox, IngestCursor.acked_seq).where(
                    tuple_(IngestCursor.site_id, IngestCursor.outbox).in_(chunk)
                )
            ):
                cursors[(site, outbox)] = acked
        start = {k: cursors.get(k, 0) for k in touched}
        moved = dict(start)
        for chunk in _chunks(touched):
            floor = min(start[k] for k in chunk)
            stored = select(PlaybackEvent.site_id, PlaybackEvent.outbox, PlaybackEvent.seq).where(
                tuple_(PlaybackEvent.site_id, PlaybackEvent.outbox).in_(chunk),
                PlaybackEvent.seq > floor,
            )
            refused = select(
                RejectedMessage.site_id, RejectedMessage.outbox, RejectedMessage.seq
            ).where(
                tuple_(RejectedMessage.site_id, RejectedMessage.outbox).in_(chunk),
                RejectedMessage.seq > floor,
            )
            both = union(stored, refused).subquery()
            seqs = session.execute(
                select(both.c.site_id, both.c.outbox, both.c.seq).order_by(
                    both.c.site_id, both.c.outbox, both.c.seq
                )
            )
            for site, outbox, seq in seqs:
                key = (site, outbox)
                if seq == moved[key] + 1:
                    moved[key] = seq
        new_rows = [
            {"site_id": s, "outbox": o, "acked_seq": moved[(s, o)]}
            for s, o in touched
            if (s, o) not in cursors
        ]
        changed = [
            {"site_id": s, "outbox": o, "acked_seq": moved[(s, o)]}
            for s, o in touched
            if (s, o) in cursors and moved[(s, o)] != cursors[(s, o)]
        ]
        if new_rows:
            session.execute(insert(IngestCursor), new_rows)
        if changed:
            session.execute(update(IngestCursor), changed)
        return [Ack(site=s, outbox=o, seq=moved[(s, o)], issued_at=now) for s, o in touched]


def health_fields(status: Status) -> dict[str, Any]:
    """The heartbeat's health fields (issue #4's Status) as Site columns; absent ones left out,
    except ``last_error``, which an online heartbeat without one clears."""
    out: dict[str, Any] = {"last_error": status.last_error}
    if status.disk_free_bytes is not None:
        out["disk_free_bytes"] = status.disk_free_bytes
    if status.cpu_temp_c is not None:
        out["cpu_temp_c"] = status.cpu_temp_c
    if status.clock_offset_ms is not None:
        out["clock_offset_ms"] = round(status.clock_offset_ms)
    return out


# Core statements: executemany without the ORM's per-row bookkeeping (ingest's hot path).
EVENTS = PlaybackEvent.metadata.tables[PlaybackEvent.__tablename__]
REJECTED = RejectedMessage.metadata.tables[RejectedMessage.__tablename__]
LOGS = Playback.metadata.tables[Playback.__tablename__]
LOG_FIELDS = (
    "scheduled_at",
    "started_at",
    "finished_at",
    "status",
    "detail",
    "updated_at",
    "unit_id",
)
UPDATE_LOG = (
    update(LOGS)
    .where(LOGS.c.id == bindparam("b_id"))
    .values({name: bindparam(name) for name in LOG_FIELDS})
)


def _log_values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in LOG_FIELDS}


LOG_COLUMNS = (
    Playback.id,
    Playback.site_id,
    Playback.item_id,
    Playback.scheduled_at,
    Playback.started_at,
    Playback.finished_at,
    Playback.status,
    Playback.detail,
    Playback.unit_id,
)


def fold_event(row: dict[str, Any], event: Event) -> None:
    """Apply one event to a playback row (a dict of Playback columns)."""
    if event.scheduled_at and row.get("scheduled_at") is None:
        row["scheduled_at"] = event.scheduled_at
    if event.kind == "started":
        row["started_at"] = event.at
        if row["status"] not in TERMINAL:
            row["status"] = "started"
        return
    if event.kind == "received":  # a command arrived; later events of the airing win
        if row["status"] in ("scheduled", "received"):
            row["status"] = "received"
        return
    if event.kind in ("finished", "interrupted"):
        row["finished_at"] = event.at
    row["status"] = event.kind
    if event.detail:
        row["detail"] = event.detail


def _site_units(session: Session, sites: set[str]) -> dict[str, int]:
    """Each site's unit now: what its new events and airings are recorded under."""
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(sites)):
        rows = session.execute(select(Site.id, Site.unit_id).where(Site.id.in_(chunk)))
        out.update({site: unit for site, unit in rows})
    return out


def _event_row(event: Event, received_at: datetime, unit_id: int | None) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "id": event.id,
        "site_id": event.site,
        "outbox": event.outbox,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at,
        "item_id": event.item_id,
        "announcement_id": event.announcement_id,
        "scheduled_at": event.scheduled_at,
        "detail": event.detail,
        "received_at": received_at,
    }


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class IngestWorker:
    """Queues payloads from the MQTT thread and stores them in batches on its own thread,
    so the network thread never waits on the database."""

    ingestor: Ingestor
    batch_size: int = 500
    limits: SiteLimits | None = None  # per-site admission, before anything else
    _queue: queue.Queue[tuple[str, str, bytes] | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None

    def on_event(self, topic: str, payload: bytes) -> None:
        if self.limits is None or self.limits.admit(topic):
            self._queue.put(("event", topic, payload))

    def on_status(self, topic: str, payload: bytes) -> None:
        if self.limits is None or self.limits.admit(topic):
            self._queue.put(("status", topic, payload))

    def queue_depth(self) -> int:
        """Messages received and not yet taken for storing (a metric)."""
        return self._queue.qsize()

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
        events: list[Event] = []
        rejected: list[Rejected] = []
        for kind, topic, payload in batch:
            if kind == "status":
                try:
                    self.ingestor.handle_status(topic, payload)
                except Exception:  # one bad status must not cost the batch its events
                    logger.exception("status on %s not stored", topic)
                continue
            try:
                parsed = self.ingestor.parse_event(topic, payload)
            except Exception as exc:  # a parser bug must cost this message only
                logger.exception("event on %s could not be parsed", topic)
                site = self.ingestor.topics.site_from(topic) or ""
                parsed = Rejected(site, "event", "internal", repr(exc)[:500], payload)
            if isinstance(parsed, Event):
                events.append(parsed)
            else:
                rejected.append(parsed)
        if not events and not rejected:
            return
        try:
            acks = self.ingestor.store_events(events, rejected)
        except DBAPIError as exc:
            # Another ingest worker stored some of these at the same moment, or the database
            # refused one of them: go one by one, so the others are stored and acked.
            logger.info("batch not stored (%s); retrying %d one by one", type(exc).__name__,
                        len(events) + len(rejected))  # fmt: skip
            acks = self.ingestor.store_each(events, rejected)
        self.ingestor.send_acks(acks)
