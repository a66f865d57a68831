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

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, select, tuple_, union, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import ingest_sql as sql
from broadcaster.airings import commanded
from broadcaster.clock import Clock
from broadcaster.ingest_limits import SiteLimits
from broadcaster.ingest_status import store_statuses
from broadcaster.interrupted import record_interruptions
from broadcaster.metrics.process import EVENTS_STORED
from broadcaster.models import (
    Announcement,
    IngestCursor,
    Playback,
    PlaybackEvent,
    RejectedMessage,
    Site,
)
from broadcaster.publisher import Publisher, publish_many
from broadcaster.wire import bounded
from broadcaster.wire.batches import BATCH_MAX_EVENTS, cost_bound, entries
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
# Acks go at QoS 0: an ack is cumulative and the agent sends every unacked event again (after
# RESEND_AFTER_S, and all of them on each reconnect), so a lost ack costs one resend, which is
# stored as nothing and acked again. QoS 1 cost the worker a PUBACK to handle and an in-flight
# message to track per ack (most of a batch's acks), and NATS a replicated store of each; an
# offline agent's persistent session no longer queues acks it would not need (docs/decisions.md).
ACK_QOS = 0
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


def _named(d: Any) -> tuple[str | None, int | None]:
    """The outbox and seq a refused batch entry names, when each is valid on its own."""
    try:
        return require(d, "outbox", str, "event", SHORT), require(d, "seq", int, "event", INT32)
    except ProtocolError:
        return None, None


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
    # Written into every ack: agents then send their backlog in batches of up to this many
    # events (None: single events only, as an older server; docs/protocol.md §8.7).
    batch_max: int | None = BATCH_MAX_EVENTS

    def parse_event(self, topic: str, payload: bytes) -> Event | Rejected:
        """The event, or why it is refused (logged; the caller stores the rejection). A batch
        is refused here (``wrong-type``): :meth:`parse_events` takes both."""
        site = self.topics.site_from(topic) or ""
        d = self._load(topic, site, payload)
        return d if isinstance(d, Rejected) else self._judge(topic, site, d, payload)

    def parse_events(self, topic: str, payload: bytes) -> list[Event | Rejected]:
        """The events of one message, a single event or a batch (``broadcaster.wire.batches``),
        each judged on its own: a bad entry of a batch is refused alone (a ``wrong-site`` one
        too), and still moves the ack when it names its outbox and seq. A batch whose envelope
        is bad (too large, not bounded JSON, too many entries, another site) is one refusal."""
        site = self.topics.site_from(topic) or ""
        d = self._load(topic, site, payload)
        if isinstance(d, Rejected):
            return [d]
        if not (isinstance(d, dict) and d.get("type") == "events"):
            return [self._judge(topic, site, d, payload)]
        try:
            claimed, raw = entries(d, BATCH_MAX_EVENTS)
        except ProtocolError as exc:
            refused = Rejected.of(site, "event", exc.reason, exc.detail, payload)
            return [self._refuse(topic, refused)]
        if claimed != site:
            detail = f"batch claims site {claimed!r}"
            return [self._refuse(topic, Rejected(site, "event", "wrong-site", detail, payload))]
        return [self._judge(topic, site, entry, None, index) for index, entry in enumerate(raw)]

    def _load(self, topic: str, site: str, payload: bytes) -> Any:
        """The parsed payload, or why it is refused."""
        if len(payload) > MAX_PAYLOAD:
            detail = f"{len(payload)} bytes"
            return self._refuse(topic, Rejected(site, "event", "too-large", detail, payload[:100]))
        try:
            return bounded.loads(payload, MAX_PAYLOAD)
        except ProtocolError as exc:
            return self._refuse(topic, Rejected.of(site, "event", exc.reason, exc.detail, payload))

    def _judge(
        self, topic: str, site: str, d: Any, payload: bytes | None, index: int | None = None
    ) -> Event | Rejected:
        """The event ``d`` (a whole message's ``payload``, or entry ``index`` of a batch)."""
        try:
            event = Event.from_dict(d)
        except ProtocolError as exc:
            reason, detail = exc.reason, exc.detail
        else:
            if event.site == site:
                return event
            reason, detail = "wrong-site", f"claims site {event.site!r}"
        if payload is not None:
            return self._refuse(topic, Rejected.of(site, "event", reason, detail, payload))
        outbox, seq = _named(d)
        text = json.dumps(d, ensure_ascii=False)[: KEEP_PAYLOAD * 4].encode("utf-8", "replace")
        detail = f"events[{index}]: {detail}"
        return self._refuse(
            topic, Rejected(site, "event", reason, detail[:1000], text, outbox, seq)
        )

    @staticmethod
    def _refuse(topic: str, out: Rejected) -> Rejected:
        logger.warning("event on %s rejected (%s): %s", topic, out.reason, out.detail[:200])
        return out

    def announce(self, acks: list[Ack]) -> list[Ack]:
        """The acks with what this server takes: batches of up to ``batch_max`` events."""
        if self.batch_max is None:
            return acks
        return [replace(a, batch_max=self.batch_max) for a in acks]

    def store_events(self, events: list[Event], rejected: Sequence[Rejected] = ()) -> list[Ack]:
        """Store a batch idempotently in one transaction; return the acks to send.

        Bulk throughout, a few statements a batch: the sites' ``last_seen_at`` (which also
        reads their units), the events inserted with ON CONFLICT DO NOTHING (what comes back
        is what was new), the playback rows and the cursors read FOR UPDATE, then written with
        executemany; airings an emergency cut off are recorded for their replay
        (``broadcaster.interrupted``). Rows are locked in one order (sites, events, playback
        rows, interrupted airings, cursors; each sorted), so workers sharing a group wait for each other instead of overwriting each
        other's playback rows or acks. Rejections are stored beside the events; a refused
        event's seq counts as stored for the ack (it will never become valid by being sent
        again).
        """
        now = self.clock.now()
        with self.factory() as session, session.begin():
            units = _touch_sites(session, sorted({e.site for e in events}), now)
            new = self._new_events(session, events, now, units)
            if new:
                self._apply_to_log(session, new, now, units)
                record_interruptions(session, new)  # airings an emergency cut off
            refused = self._new_rejections(session, rejected)
            if refused:
                session.connection().execute(REJECTED.insert(), [r.row(now) for r in refused])
            touched = sorted(
                {(e.site, e.outbox) for e in events}
                | {(r.site, r.outbox) for r in rejected if r.outbox is not None}
            )
            acks = self._advance(session, touched, now)
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
        """Sign every ack and publish them together at ``ACK_QOS`` (a batch from many sites
        has nearly an ack per event)."""
        signed = self.signer.sign_many([ack.to_dict() for ack in acks])
        publish_many(
            self.publisher,
            [(self.topics.ack(a.site), d) for a, d in zip(acks, signed, strict=True)],
            qos=ACK_QOS,
        )

    def parse_status(self, topic: str, payload: bytes) -> Status | Rejected | None:
        """The status, why it is refused (logged), or None for a cleared retained message."""
        site = self.topics.site_from(topic) or ""
        if not payload:
            return None
        try:
            status = Status.from_dict(bounded.loads(payload, MAX_PAYLOAD))
        except ProtocolError as exc:
            logger.warning("status on %s rejected: %s", topic, exc)
            return Rejected.of(site, "status", exc.reason, exc.detail, payload)
        if status.site != site:
            logger.warning("status on %s rejected: claims site %r", topic, status.site)
            detail = f"claims site {status.site!r}"
            return Rejected.of(site, "status", "wrong-site", detail, payload)
        return status

    def handle_status(self, topic: str, payload: bytes) -> None:
        self.handle_statuses([(topic, payload)])

    def handle_statuses(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Apply a batch of statuses (``broadcaster.ingest_status``) in one transaction and
        store the refused ones. If the batch cannot be stored, each status is tried on its
        own, so one the database refuses costs only itself (it is logged)."""
        statuses: list[Status] = []
        rejected: list[Rejected] = []
        for topic, payload in messages:
            parsed = self.parse_status(topic, payload)
            if isinstance(parsed, Status):
                statuses.append(parsed)
            elif parsed is not None:
                rejected.append(parsed)
        self.record_rejections(rejected)
        if not statuses:
            return
        try:
            self._store_statuses(statuses)
        except DBAPIError:
            if len(statuses) == 1:
                raise
            for status in statuses:
                try:
                    self._store_statuses([status])
                except DBAPIError:
                    logger.exception("status of %s not stored", self.topics.status(status.site))

    def _store_statuses(self, statuses: list[Status]) -> None:
        with self.factory() as session, session.begin():
            store_statuses(session, statuses, self.clock.now())

    # -- internals -------------------------------------------------------------------------

    def _new_events(
        self, session: Session, events: list[Event], now: datetime, units: dict[str, int]
    ) -> list[Event]:
        """Insert the events not stored yet (by id, nor by site/outbox/seq); return those, in
        arrival order. One INSERT … ON CONFLICT DO NOTHING RETURNING: a duplicate costs no
        query of its own, and one another worker is inserting at the same moment waits for it
        instead of failing the batch."""
        unique: dict[str, Event] = {}
        for e in events:
            unique.setdefault(e.id, e)
        if not unique:
            return []
        conn = session.connection()
        rows = [_event_row(unique[i], now, units.get(unique[i].site)) for i in sorted(unique)]
        inserted = {r.id for r in sql.insert_new(conn, EVENTS, rows, None, [EVENTS.c.id])}
        if len(inserted) < len(unique):
            self._warn_reused_seqs(session, [e for e in unique.values() if e.id not in inserted])
        return [e for e in unique.values() if e.id in inserted]

    def _warn_reused_seqs(self, session: Session, skipped: list[Event]) -> None:
        """Of the events not inserted, log those whose id is not stored: another event holds
        their (site, outbox, seq). The others were sent again (normal: agents resend)."""
        known: set[str] = set()
        for chunk in _chunks([e.id for e in skipped]):
            known.update(
                session.scalars(select(PlaybackEvent.id).where(PlaybackEvent.id.in_(chunk)))
            )
        reused = [e for e in skipped if e.id not in known]
        taken: dict[tuple[str, str, int], str] = {}
        columns = (PlaybackEvent.site_id, PlaybackEvent.outbox, PlaybackEvent.seq)
        for key_chunk in _chunks([(e.site, e.outbox, e.seq) for e in reused]):
            for site, outbox, seq, eid in session.execute(
                select(*columns, PlaybackEvent.id).where(tuple_(*columns).in_(key_chunk))
            ):
                taken[(site, outbox, seq)] = eid
        for e in reused:
            logger.warning(
                "event %s from %s reuses seq %d of event %s; ignored",
                e.id,
                e.site,
                e.seq,
                taken.get((e.site, e.outbox, e.seq), "?"),
            )

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
        """Fold the events into the playback rows: load them locked, update in memory, write
        in bulk. A row another worker inserted meanwhile is loaded and folded again."""
        keys = sorted({(e.site, e.item_id) for e in events if e.item_id is not None})
        if not keys:
            return
        rows = _locked_log_rows(session, keys)
        existing = set(rows)
        claims = {
            (e.site, e.item_id, e.announcement_id)
            for e in events
            if e.item_id is not None and (e.site, e.item_id) not in existing
        }
        sent = commanded(session, claims) if claims else set()
        priorities = _priorities(session, {a for _, _, a in claims if a is not None})
        _fold_all(rows, events, now, units, sent, priorities)
        conn = session.connection()
        inserts = [r for k, r in sorted(rows.items()) if k not in existing]
        if inserts:
            done = {
                (r.site_id, r.item_id)
                for r in sql.insert_new(
                    conn,
                    LOGS,
                    [{"updated_at": now, **r} for r in inserts],
                    ["site_id", "item_id"],
                    [LOGS.c.site_id, LOGS.c.item_id],
                )
            }
            raced = sorted({(r["site_id"], r["item_id"]) for r in inserts} - done)
            if raced:  # another worker inserted them since we looked: fold onto theirs
                again = _locked_log_rows(session, raced)
                _fold_all(
                    again, [e for e in events if (e.site, e.item_id) in again], now, units, sent
                )
                rows.update(again)
                existing.update(again)
        updates = [r for k, r in rows.items() if k in existing and "updated_at" in r]
        write_log_rows(conn, [{"id": r["id"], **_log_values(r)} for r in updates])

    def _advance(
        self, session: Session, touched: list[tuple[str, str]], now: datetime
    ) -> list[Ack]:
        """Move each (site, outbox) cursor over the contiguous seqs now stored. The cursors
        are locked first (a missing one is made), so a worker storing the same outbox's other
        events waits and then sees them: its ack covers both batches."""
        if not touched:
            return []
        cursors = _locked_cursors(session, touched)
        missing = [k for k in touched if k not in cursors]
        if missing:
            conn = session.connection()
            stmt = sql.upsert(conn, CURSORS).on_conflict_do_nothing()
            conn.execute(stmt, [{"site_id": s, "outbox": o, "acked_seq": 0} for s, o in missing])
            cursors.update(_locked_cursors(session, missing))
        moved = dict(cursors)
        conn = session.connection()
        for chunk in sql.chunks(conn, touched):
            floors = [(s, o, cursors[(s, o)]) for s, o in chunk]
            stored = sql.seqs_after(
                conn, [PlaybackEvent.site_id, PlaybackEvent.outbox, PlaybackEvent.seq], floors
            )
            refused = sql.seqs_after(
                conn, [RejectedMessage.site_id, RejectedMessage.outbox, RejectedMessage.seq], floors
            )
            both = union(stored, refused).subquery()
            seqs = session.execute(
                select(both.c.site_id, both.c.outbox, both.c.seq).order_by(
                    both.c.site_id, both.c.outbox, both.c.seq
                )
            )
            for site, outbox, seq in seqs:
                key = (site, outbox)
                if key in moved and seq == moved[key] + 1:
                    moved[key] = seq
        changed = [
            {"site_id": s, "outbox": o, "acked_seq": moved[(s, o)]}
            for s, o in touched
            if moved[(s, o)] != cursors[(s, o)]
        ]
        sql.update_rows(conn, CURSORS, ["site_id", "outbox"], changed)
        return [Ack(site=s, outbox=o, seq=moved[(s, o)], issued_at=now) for s, o in touched]


def _touch_sites(session: Session, sites: list[str], now: datetime) -> dict[str, int]:
    """Mark the sites seen now and return their units (what their new events and airings
    are recorded under). The first statement of a batch, and a write: SQLite takes its write
    lock at once; PostgreSQL locks the rows in id order (a status batch does the same)."""
    out: dict[str, int] = {}
    conn = session.connection()
    for chunk in sql.chunks(conn, sites):
        ids = (
            select(Site.id)
            .where(sql.keys_in(conn, [Site.id], chunk))
            .order_by(Site.id)
            .with_for_update()
        )
        rows = session.execute(
            update(Site)
            .where(Site.id.in_(ids.scalar_subquery()))
            .values(last_seen_at=now)
            .returning(Site.id, Site.unit_id),
            execution_options={"synchronize_session": False},
        )
        out.update({site: unit for site, unit in rows})
    return out


def _locked_log_rows(
    session: Session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The playback rows of ``keys`` (sorted), locked in that order, as dicts."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    conn = session.connection()
    for chunk in sql.chunks(conn, keys):
        for r in session.execute(
            select(*LOG_COLUMNS)
            .where(sql.keys_in(conn, [Playback.site_id, Playback.item_id], chunk))
            .order_by(Playback.site_id, Playback.item_id)
            .with_for_update()
        ):
            rows[(r.site_id, r.item_id)] = dict(r._mapping)
    return rows


def _locked_cursors(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ack cursors of ``keys`` (sorted), locked in that order."""
    out: dict[tuple[str, str], int] = {}
    conn = session.connection()
    for chunk in sql.chunks(conn, keys):
        for site, outbox, acked in session.execute(
            select(IngestCursor.site_id, IngestCursor.outbox, IngestCursor.acked_seq)
            .where(sql.keys_in(conn, [IngestCursor.site_id, IngestCursor.outbox], chunk))
            .order_by(IngestCursor.site_id, IngestCursor.outbox)
            .with_for_update()
        ):
            out[(site, outbox)] = acked
    return out


def _fold_all(
    rows: dict[tuple[str, str], dict[str, Any]],
    events: list[Event],
    now: datetime,
    units: dict[str, int],
    sent: set[tuple[str, str, int | None]],
    priorities: dict[int, str] | None = None,
) -> None:
    """Fold ``events`` (in order) into ``rows``, making the rows that are missing (with their
    announcement's priority, from ``priorities``)."""
    priorities = priorities or {}
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
                "priority": (
                    priorities.get(e.announcement_id) if e.announcement_id is not None else None
                ),
            }
        if row["status"] == "scheduled":  # its first report: the unit it airs under
            row["unit_id"] = units.get(e.site, row["unit_id"])
        fold_event(row, e)
        row["updated_at"] = now


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
CURSORS = IngestCursor.metadata.tables[IngestCursor.__tablename__]


def write_log_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write the ``LOG_FIELDS`` of playback rows (dicts with their ``id``): one statement on
    PostgreSQL, so its roll-up mark triggers (per statement, migration 0027) run once."""
    sql.update_rows(conn, LOGS, ["id"], rows)


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


def _priorities(session: Session, announcements: set[int]) -> dict[int, str]:
    """The priority of each announcement: what an airing only events made is logged with."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(announcements)):
        rows = session.execute(
            select(Announcement.id, Announcement.priority).where(Announcement.id.in_(chunk))
        )
        out.update({ann: prio for ann, prio in rows})
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
    so the network thread never waits on the database.

    Events are stored as soon as the thread takes them (their acks wait on it). Statuses are
    held up to ``status_linger_s`` and applied together: heartbeats arrive one at a time, and
    a transaction each was most of what 5,000 sites' heartbeats cost (bench/RESULTS.md)."""

    ingestor: Ingestor
    # At most this many events a batch. Only a backlog fills it (a quiet queue gives what came
    # within ``linger_s``): then a site's queued events share one ack and one transaction, so a
    # worker that falls behind spends less per event while it catches up (bench/RESULTS.md).
    batch_size: int = 10_000
    limits: SiteLimits | None = None  # per-site admission, before anything else
    # A batch waits this long for more messages after its first: under load a batch of a few
    # messages costs nearly what one of hundreds does (its statements, its round trips).
    linger_s: float = 0.05
    status_linger_s: float = 1.0
    # (kind, topic, payload, how many events it may carry: a batch counts as its events)
    _queue: queue.Queue[tuple[str, str, bytes, int] | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None

    def on_event(self, topic: str, payload: bytes) -> None:
        """Admit and queue an event message: a batch takes a token per event it may carry from
        its site's budget (``cost_bound``: read without parsing it)."""
        cost = cost_bound(payload)
        if self.limits is None or self.limits.admit(topic, cost):
            self._queue.put(("event", topic, payload, cost))

    def on_status(self, topic: str, payload: bytes) -> None:
        if self.limits is None or self.limits.admit(topic):
            self._queue.put(("status", topic, payload, 1))

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

    def _take(self, wait: float | None) -> tuple[list[tuple[str, str, bytes, int]], bool]:
        """What is queued (waiting up to ``wait`` for the first one; None: for ever), up to
        ``batch_size`` events (a batch message counts as the events it may carry); and whether
        stop was asked."""
        try:
            item = self._queue.get(timeout=wait)
        except queue.Empty:
            return [], False
        if item is None:
            return [], True
        batch = [item]
        size = item[3]
        until = time.monotonic() + self.linger_s
        while size < self.batch_size:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                left = until - time.monotonic()
                if left <= 0:
                    break
                try:
                    nxt = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if nxt is None:
                return batch, True
            batch.append(nxt)
            size += nxt[3]
        return batch, False

    def _run(self) -> None:
        statuses: list[tuple[str, bytes]] = []
        held_since = 0.0
        stopping = False
        while not stopping:
            wait = None
            if statuses:
                wait = max(0.0, held_since + self.status_linger_s - time.monotonic())
            batch, stopping = self._take(wait)
            events = [(topic, payload) for kind, topic, payload, _ in batch if kind == "event"]
            if not statuses:
                held_since = time.monotonic()
            statuses += [(t, payload) for kind, t, payload, _ in batch if kind == "status"]
            if events:
                try:
                    self._process_events(events)
                except Exception:  # the worker must outlive any one batch
                    logger.exception("ingest batch of %d failed; agents will resend", len(events))
            due = time.monotonic() - held_since >= self.status_linger_s
            if statuses and (stopping or due or len(statuses) >= self.batch_size):
                try:
                    self.ingestor.handle_statuses(statuses)
                except Exception:  # the next heartbeat replaces them
                    logger.exception("%d statuses not stored", len(statuses))
                statuses = []

    def _process_events(self, batch: list[tuple[str, bytes]]) -> None:
        events: list[Event] = []
        rejected: list[Rejected] = []
        for topic, payload in batch:
            try:
                parsed = self.ingestor.parse_events(topic, payload)
            except Exception as exc:  # a parser bug must cost this message only
                logger.exception("event on %s could not be parsed", topic)
                site = self.ingestor.topics.site_from(topic) or ""
                parsed = [Rejected(site, "event", "internal", repr(exc)[:500], payload)]
            for one in parsed:
                if isinstance(one, Event):
                    events.append(one)
                else:
                    rejected.append(one)
        try:
            acks = self.ingestor.store_events(events, rejected)
        except DBAPIError as exc:
            # Another ingest worker stored some of these at the same moment, or the database
            # refused one of them: go one by one, so the others are stored and acked.
            logger.info("batch not stored (%s); retrying %d one by one", type(exc).__name__,
                        len(events) + len(rejected))  # fmt: skip
            acks = self.ingestor.store_each(events, rejected)
        self.ingestor.send_acks(self.ingestor.announce(acks))
