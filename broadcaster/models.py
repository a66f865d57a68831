"""The domain model and its storage (SQLAlchemy 2). Schema changes go through Alembic.

All datetimes are timezone-aware UTC in Python; they are stored as naive UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    event,
    select,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from broadcaster.clock import SYSTEM_CLOCK
from broadcaster.wire.messages import EVENT_KINDS

# draft → submitted → approved | rejected; approved/submitted → cancelled
ANNOUNCEMENT_STATES = ("draft", "submitted", "approved", "rejected", "cancelled")
# A playback-log row is "scheduled" until its first event; then it takes the event's kind.
PLAYBACK_STATES = ("scheduled", *EVENT_KINDS)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (portable to SQLite)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


# Creation and update stamps: the services that own a row's time (workflow, emergencies,
# ingest, alerts) set it from their injected Clock. The column default stays as a fallback for
# rows whose stamp is only a record (users, media, lexicon entries, campaigns, versions, written
# by many callers); it reads the wall clock through the one contract.
_stamp = SYSTEM_CLOCK.now


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


site_zones = Table(
    "site_zones",
    Base.metadata,
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)

announcement_zones = Table(
    "announcement_zones",
    Base.metadata,
    Column("announcement_id", ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)


# --- Administrative units (issue 11) ------------------------------------------------------------

# Kinds of unit a tree may hold; any number of levels, in any nesting (the tree decides).
UNIT_KINDS = ("province", "district", "cluster", "commune", "ward", "special-zone")
# The kinds that hold zones (hamlets) and speaker sites: the two-tier local government's
# lower tier (xã, phường, đặc khu).
COMMUNE_KINDS = ("commune", "ward", "special-zone")


class Unit(Base):
    """An administrative unit: a province, a commune, a ward, or a level between them.

    A merged unit stays (``merged_into_id``) so that past airings keep the unit they aired under.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the official code
    name: Mapped[str] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who merged it (a username; empty: the CLI), kept as text so it outlives the account.
    merged_by: Mapped[str | None] = mapped_column(String(64))

    parent: Mapped[Unit | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Unit]] = relationship(
        back_populates="parent", foreign_keys=[parent_id], order_by="Unit.name"
    )
    merged_into: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    @property
    def holds_zones(self) -> bool:
        return self.kind in COMMUNE_KINDS


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    # The role applies to this unit and everything below it (broadcaster/scope.py).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # Where workflow notices reach them (schedules/notices.py): "" = not by that channel.
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")

    unit: Mapped[Unit] = relationship()


class LoginSession(Base):
    """A web login: the cookie carries a random token, the row its SHA-256 (a copy of the
    table logs no one in). Logout and a password change delete rows; idle and absolute expiry
    are checked on every request (web.sessions)."""

    __tablename__ = "login_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """One failed login, kept for the throttling window (web.throttle)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Zone(Base):
    """A hamlet (thôn, ấp, bản) or another group of sites that is targeted together."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16), default="vi")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # its commune

    sites: Mapped[list[Site]] = relationship(secondary=site_zones, back_populates="zones")
    unit: Mapped[Unit] = relationship()

    @property
    def commune(self) -> str:
        """The name of the commune the zone belongs to."""
        return self.unit.name if self.unit is not None else ""


class Site(Base):
    """A speaker site with one Pi agent: a loudspeaker cluster or the commune FM station."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    output: Mapped[str] = mapped_column(String(32), default="amplifier")
    # Last status reported by the agent (retained status / last will).
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_plan_version: Mapped[int] = mapped_column(BigInteger, default=0)  # ms, like versions
    agent_version: Mapped[str] = mapped_column(String(64), default="")
    # The trusted-keys list the agent uses (its heartbeat's keys_version; None before one says)
    keys_version: Mapped[int | None] = mapped_column(BigInteger)
    # Site health (issue #6): where it is, and what its status heartbeat last said.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disk_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cpu_temp_c: Mapped[float | None]
    clock_offset_ms: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # its commune

    zones: Mapped[list[Zone]] = relationship(secondary=site_zones, back_populates="sites")
    unit: Mapped[Unit] = relationship()


class Media(Base):
    """A mastered audio file in the content-addressed store."""

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    duration_ms: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    tts_engine: Mapped[str] = mapped_column(String(32), default="")
    # The campaign this announcement belongs to (issue #5); officers' reports join on it.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # How many times the message is said (after "Xin nhắc lại"); by priority unless chosen.
    repeat: Mapped[int] = mapped_column(default=lambda ctx: default_repeat_for(ctx))
    # The unit that owns it (its author's); it targets only zones in this unit's subtree.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # Among airings of the same priority: a bulletin sent from above goes ahead of the commune's
    # own items (0) until the commune's staff put it behind them (2); everything else is 1
    # (schedules/conflicts.py, broadcaster/bulletins.py).
    precedence: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign | None] = relationship(back_populates="announcements")
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    media: Mapped[Media | None] = relationship()
    zones: Mapped[list[Zone]] = relationship(secondary=announcement_zones)
    schedule: Mapped[list[ScheduleItem]] = relationship(
        back_populates="announcement",
        cascade="all, delete-orphan",
        order_by="ScheduleItem.start_at",
    )
    versions: Mapped[list[AnnouncementVersion]] = relationship(
        back_populates="announcement",
        cascade="all, delete-orphan",
        order_by="AnnouncementVersion.language",
    )
    cancellations: Mapped[list[Cancellation]] = relationship(
        back_populates="announcement",
        cascade="all, delete-orphan",
        order_by="Cancellation.id",
    )


class ScheduleItem(Base):
    """When an announcement airs: once at ``start_at``, or recurring from it (issue #5).

    ``rrule`` is an RFC 5545 RRULE (no DTSTART: ``start_at`` in the commune's local time is the
    DTSTART); ``slot_id`` places each airing into that programme slot ("in the next slot");
    ``valid_until`` ends every airing after it.
    """

    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    rrule: Mapped[str] = mapped_column(Text, default="")
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"))
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    announcement: Mapped[Announcement] = relationship(back_populates="schedule")
    slot: Mapped[Slot | None] = relationship()
    cancellations: Mapped[list[Cancellation]] = relationship(
        back_populates="schedule_item", order_by="Cancellation.id", passive_deletes=True
    )

    def occurrence_id(self, start: datetime) -> str:
        """Stable id of one airing, shared by the plan item and its playback events."""
        return f"s{self.id}-{int(start.timestamp())}"

    def cancelled(self, start: datetime) -> bool:
        """Whether the airing at ``start`` (its nominal start) was cancelled on its own."""
        at = int(start.timestamp())
        return any(
            c.kind == "airing" and c.airing_at is not None and int(c.airing_at.timestamp()) == at
            for c in self.cancellations
        )


# What a cancellation cancels: the whole announcement, one airing, or every airing from one on.
CANCEL_KINDS = ("withdraw", "airing", "rest")


class Cancellation(Base):
    """Who withdrew an announcement or cancelled one or the rest of its airings, when and why.

    One airing is left out of the plans by this row (``ScheduleItem.cancelled``); the rest of a
    series by the item's ``valid_until``; a withdrawal by the announcement's status. A trigger
    bumps the announcement's plan mark (migration 0018), so the planner sees it at once."""

    __tablename__ = "cancellations"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    schedule_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedule_items.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # one of CANCEL_KINDS
    airing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the airing, or the first
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    announcement: Mapped[Announcement] = relationship(back_populates="cancellations")
    schedule_item: Mapped[ScheduleItem | None] = relationship(back_populates="cancellations")
    by: Mapped[User] = relationship()


# What became of an airing an emergency cut off, at one site (issue 13).
REPLAY_STATES = ("pending", "planned", "none")


class InterruptedAiring(Base):
    """An airing an emergency cut off at one site, and its replay (issue 13).

    Ingest writes the row from the site's ``interrupted`` event (once: the key is the site and
    the airing); the scheduler then decides the replay (``schedules.replays``): ``planned`` at
    ``replay_at``, or ``none`` with ``reason``. The planner leaves the cut airing out of the
    site's plan and puts the replay in. A trigger bumps the announcement's plan mark
    (migration 0025)."""

    __tablename__ = "interrupted_airings"
    __table_args__ = (
        UniqueConstraint("site_id", "item_id", name="uq_interrupted_site_item"),
        Index("ix_interrupted_airings_interrupted_at", "interrupted_at"),
        Index("ix_interrupted_airings_state", "state"),  # the scheduler's pending rows
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))  # the cut airing's occurrence id
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    schedule_item_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_items.id", ondelete="CASCADE")
    )
    nominal: Mapped[datetime] = mapped_column(UTCDateTime)  # the airing's nominal start
    interrupted_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the event's time
    cut_by: Mapped[str] = mapped_column(String(64), default="")  # the emergency's airing id
    state: Mapped[str] = mapped_column(String(16), default="pending")  # REPLAY_STATES
    replay_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(32), default="")  # why not replayed
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanMark(Base):
    """How often the planner's inputs about one announcement changed (row 0: every other
    input: slots, relays, zones, sites and their zones, media). Database triggers bump it in the
    writer's transaction (migration 0014); schedules/plan_cache.py re-materializes what moved."""

    __tablename__ = "plan_marks"

    announcement_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class SitePlan(Base):
    """What was last published to a site; the version only ever increases."""

    __tablename__ = "site_plans"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, default=0)  # ms since the epoch, or more
    digest: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlaybackEvent(Base):
    """Every event an agent reported, stored once (idempotent on id and on seq)."""

    __tablename__ = "playback_events"
    __table_args__ = (UniqueConstraint("site_id", "outbox", "seq", name="uq_event_seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    outbox: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    item_id: Mapped[str | None] = mapped_column(String(64))
    announcement_id: Mapped[int | None]
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    # The site's unit when the event was stored: a later merge does not rewrite history.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))


class Playback(Base):
    """One row per (site, airing): the playback log that officers read, kept by ingest."""

    __tablename__ = "playbacks"
    __table_args__ = (
        UniqueConstraint("site_id", "item_id", name="uq_playback_site_item"),
        Index("ix_playbacks_scheduled_at", "scheduled_at"),
        # The officers' common views at 10 M rows (issue #6, bench/RESULTS.md).
        Index("ix_playbacks_site_scheduled", "site_id", "scheduled_at"),
        Index("ix_playbacks_announcement_scheduled", "announcement_id", "scheduled_at"),
        # With the priority: a status and a priority filter together count from the index.
        Index("ix_playbacks_status_scheduled_priority", "status", "scheduled_at", "priority"),
        # A commune's views (its officer's scope, the commune filter) with a status or a
        # priority: checked and counted in the index (issue 12).
        Index(
            "ix_playbacks_unit_scheduled_status_priority",
            "unit_id",
            "scheduled_at",
            "status",
            "priority",
        ),
        # The priority filter's own path (issue 12; a quarter of a year's rows can match).
        Index("ix_playbacks_priority_scheduled", "priority", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(64))
    announcement_id: Mapped[int | None] = mapped_column(index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    # The airing was in the site's published plan or in a play command sent to the site. False:
    # only the site's word (ingest made the row from its events); shown as unverified, never
    # counted in proof, coverage, reports or health (issue 10).
    verified: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The unit the airing aired under (the site's at ingest): reports count it there for good.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # The airing's priority (its plan item's, or its announcement's when only events made the
    # row), copied here so the log's priority filter walks its own index (issue 12).
    priority: Mapped[str | None] = mapped_column(String(16))


class ReportSiteDay(Base):
    """A day's airings per (unit aired under, site): the report's zone and site roll-ups.

    Kept from ``playbacks`` by ``broadcaster.rollups`` (refreshed where ``report_marks`` say a
    day changed; rebuilt by ``broadcaster reports rebuild``). ``day`` is the local date in the
    configured timezone; ``unit_id`` 0 stands for an airing without a unit. Verified airings
    only: a site's word alone is never counted."""

    __tablename__ = "report_site_days"
    __table_args__ = (Index("ix_report_site_days_unit_day", "unit_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    planned: Mapped[int]  # site-airings planned (playback rows)
    finished: Mapped[int]  # played fully
    interrupted: Mapped[int]  # played in part
    aired_s: Mapped[float] = mapped_column(Float)  # seconds aired (full and partial)


class AnnouncementTotals:
    """What an announcement's roll-up row counts, by day or by month (``broadcaster.rollups``'s
    ``ITEM_MEASURES``)."""

    planned: Mapped[int]
    finished: Mapped[int]
    interrupted: Mapped[int]
    aired_s: Mapped[float] = mapped_column(Float)
    items_planned: Mapped[int]
    items_finished: Mapped[int]


class ReportAnnouncementDay(AnnouncementTotals, Base):
    """A day's airings per (unit aired under, announcement): the report's totals, units,
    categories, campaigns and planned vs achieved frequency. ``announcement_id`` 0: none.

    ``items_planned``/``items_finished`` count distinct airings (occurrences) in that unit that
    day; an occurrence belongs to one day, so they add up over days (not over units: the
    frequency is per commune)."""

    __tablename__ = "report_announcement_days"
    __table_args__ = (
        Index("ix_report_announcement_days_unit_day", "unit_id", "day"),
        Index("ix_report_announcement_days_announcement_day", "announcement_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    announcement_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ReportAnnouncementMonth(AnnouncementTotals, Base):
    """A month's ``report_announcement_days`` summed per (unit, announcement): what a report
    reads for the whole months of its period (a province-year is 12 months' rows, not 365
    days'), the days at its edges coming from the daily table. ``month`` is the month's first
    local day. Kept with the days by ``broadcaster.rollups`` (every recompute of a day redoes
    its month for the same units, from the daily rows), so the two always agree."""

    __tablename__ = "report_announcement_months"
    __table_args__ = (
        Index("ix_report_announcement_months_unit_month", "unit_id", "month"),
        # the newest announcements of a period (coverage's), walked backwards
        Index("ix_report_announcement_months_announcement_month", "announcement_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    announcement_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ReportMark(Base):
    """A (unit, UTC day) whose playbacks changed since the roll-ups were last refreshed.

    Written by database triggers on ``playbacks`` (every writer: ingest, plan publishing, a
    merge, psql); ``tx`` is the writing transaction on PostgreSQL (so concurrent writers never
    wait on each other's mark) and 0 on SQLite (one writer at a time)."""

    __tablename__ = "report_marks"

    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class RejectedMessage(Base):
    """A message from a site that ingest refused, with the reason (docs/protocol.md §7).

    ``outbox``/``seq`` are kept when the refused event still names them: the ack moves past a
    refused seq, so one bad event never holds back the acknowledgement of the next ones."""

    __tablename__ = "rejected_messages"
    __table_args__ = (
        Index("ix_rejected_messages_outbox_seq", "site_id", "outbox", "seq"),
        Index("ix_rejected_messages_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))  # from the topic, i.e. the broker login
    kind: Mapped[str] = mapped_column(String(16))  # "event" | "status"
    outbox: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text, default="")  # the first characters, for forensics
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IngestCursor(Base):
    """Highest contiguous event seq stored per (site, outbox): what the ack carries."""

    __tablename__ = "ingest_cursors"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outbox: Mapped[str] = mapped_column(String(64), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(default=0)


# --- The programme: slots, campaigns, relays, emergencies (issue #5) -------------------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CAMPAIGN_CATEGORIES = ("giam-ngheo", "y-te", "thien-tai", "hanh-chinh", "sinh-ke", "khac")

campaign_zones = Table(
    "campaign_zones",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)

relay_zones = Table(
    "relay_zones",
    Base.metadata,
    Column("relay_id", ForeignKey("relays.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)


class Slot(Base):
    """A commune-wide named daily window (local wall-clock time) on some weekdays."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    days: Mapped[str] = mapped_column(String(32), default=",".join(WEEKDAYS))  # "MO,TH"

    @property
    def weekdays(self) -> tuple[str, ...]:
        return tuple(d for d in self.days.split(",") if d)


class Campaign(Base):
    """A communication campaign (e.g. sustainable poverty reduction) that announcements join."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), default="khac", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    target_per_week: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # who runs it

    zones: Mapped[list[Zone]] = relationship(secondary=campaign_zones)
    unit: Mapped[Unit] = relationship()
    announcements: Mapped[list[Announcement]] = relationship(back_populates="campaign")


class Relay(Base):
    """A relay of a provincial or national radio stream at a fixed local time on some days."""

    __tablename__ = "relays"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    stream_url: Mapped[str] = mapped_column(String(500))
    start: Mapped[time] = mapped_column(Time)
    duration_s: Mapped[int]
    days: Mapped[str] = mapped_column(String(32), default=",".join(WEEKDAYS))
    active: Mapped[bool] = mapped_column(default=True)
    # Stored audio the agents play when the stream fails ("… tạm thời gián đoạn"); a relay
    # without one is left out of the plans (schedules/relays.py renders it).
    fallback_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))

    zones: Mapped[list[Zone]] = relationship(secondary=relay_zones)
    fallback: Mapped[Media | None] = relationship()

    @property
    def weekdays(self) -> tuple[str, ...]:
        return tuple(d for d in self.days.split(",") if d)


class Emergency(Base):
    """An emergency broadcast: who sent which announcement where, now, and why."""

    __tablename__ = "emergencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    # "command" when sent as a play-now command (issue #4), "plan" when put into the plans.
    delivery: Mapped[str] = mapped_column(String(16), default="plan")
    command_id: Mapped[str] = mapped_column(String(64), default="")
    # The command as sent (its JSON payload), re-sent to sites that do not confirm (issue 10).
    command_body: Mapped[str] = mapped_column(Text, default="")
    # Stopped before its end (issue 13): who, when, why, and the signed stop command's id.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    stop_command_id: Mapped[str] = mapped_column(String(64), default="")

    announcement: Mapped[Announcement] = relationship()
    sent_by: Mapped[User] = relationship(foreign_keys=[sent_by_id])
    stopped_by: Mapped[User | None] = relationship(foreign_keys=[stopped_by_id])


class LiveSession(Base):
    """A live broadcast (issue 14): who spoke, where (its announcement's zones), from when to
    when and why it ended. ``name`` is the session's id on the wire (the live item's id and the
    streaming server's login); ``mount`` its unguessable mount. The announcement (approved,
    ``tts_engine`` "live", airing at the start) carries it into the log and the proof, and gets
    the recording as its media when the session ends."""

    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    speaker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(16))
    mount: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(Text, default="")
    command_id: Mapped[str] = mapped_column(String(64), default="")

    announcement: Mapped[Announcement] = relationship()
    speaker: Mapped[User] = relationship()


class EmergencyDelivery(Base):
    """One target site's confirmation of an emergency command: sent, re-sent while the site is
    silent, confirmed by its first event for the airing (issue 10)."""

    __tablename__ = "emergency_deliveries"

    emergency_id: Mapped[int] = mapped_column(
        ForeignKey("emergencies.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first send
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sends: Mapped[int] = mapped_column(default=1)
    silent_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # found silent (alerted)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Site health alerts (issue #6) -----------------------------------------------------------


class ApiToken(Base):
    """A bearer token for the JSON API (a district's or the province's own system), made in the
    web or the CLI and shown once: only its SHA-256 is kept. It reads ``unit_id`` and below."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()


class WorkflowNotice(Base):
    """Something people must hear about (an announcement waits for approval, or was rejected),
    kept until it went out by e-mail and by webhook (schedules/notices.py): written in the
    workflow's own transaction, sent by the scheduler, retried while a channel fails."""

    __tablename__ = "workflow_notices"
    __table_args__ = (Index("ix_workflow_notices_pending", "done", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(16))  # NOTICE_EVENTS
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who submitted or rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email_sent: Mapped[bool] = mapped_column(default=False)
    webhook_sent: Mapped[bool] = mapped_column(default=False)
    done: Mapped[bool] = mapped_column(default=False)  # every channel went out, or gave up
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")

    announcement: Mapped[Announcement] = relationship()
    actor: Mapped[User] = relationship()


NOTICE_EVENTS = ("submitted", "rejected")


class SiteAlert(Base):
    """One alert on one site (offline, failures, stale plan, clock drift), open until cleared."""

    __tablename__ = "site_alerts"
    __table_args__ = (Index("ix_site_alerts_open", "site_id", "kind", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LexiconEntry(Base):
    """An admin's pronunciation: a written term (e.g. an abbreviation) and its spoken form."""

    __tablename__ = "lexicon_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(64), unique=True)
    spoken: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)


# --- Recorded versions in the villages' languages (issue 3) ----------------------------------

# Said this many times (the repeats after "Xin nhắc lại") unless the author chooses: the
# issue's default of 2 for normal notices; priority and emergency notices (storms, floods,
# epidemics) are read three times, as commune stations do for warnings.
DEFAULT_REPEAT = {"normal": 2, "priority": 3, "emergency": 3}
MAX_REPEAT = 5
# Languages a recording can be in (Zone.language uses the same codes); "vi" is Vietnamese.
RECORDING_LANGUAGES = (
    "vi",
    "bahnar",
    "sedang",
    "rhade",
    "jarai",
    "koho",
    "hmong",
    "thai",
    "tay",
    "nung",
    "muong",
    "khmer",
    "cham",
)
VERSION_KINDS = ("tts", "recording")


def default_repeat_for(ctx: Any) -> int:
    """Column default of Announcement.repeat: by the row's priority."""
    priority = ctx.get_current_parameters().get("priority") or "normal"
    return DEFAULT_REPEAT.get(priority, DEFAULT_REPEAT["normal"])


class AnnouncementVersion(Base):
    """The announcement in one language: a recorded voice (kind "recording"), mastered.

    The Vietnamese text-to-speech version stays on Announcement.media; sites whose zones speak
    a version's language get that version instead (schedules.planner).
    """

    __tablename__ = "announcement_versions"
    __table_args__ = (
        UniqueConstraint("announcement_id", "language", name="uq_announcement_version_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="recording")
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"))
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | browser
    original_name: Mapped[str] = mapped_column(String(256), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp)

    announcement: Mapped[Announcement] = relationship(back_populates="versions")
    media: Mapped[Media] = relationship()
    created_by: Mapped[User | None] = relationship()


# --- Bulletins down the tree (issue 11) -------------------------------------------------------

# written (rendered, waiting for a second person of the sending unit) → approved | rejected
BULLETIN_STATES = ("submitted", "approved", "rejected")
# One commune's copy: "pending" until the bulletin is approved; then by priority "inbox" (normal:
# the commune decides) → "accepted" | "declined"; "placed" (priority: in the next slot);
# "sent" (emergency: played at once).
DELIVERY_STATES = ("pending", "inbox", "accepted", "declined", "placed", "sent")


class Bulletin(Base):
    """A bulletin an upper unit (a province, …) sends down to some of its communes, with one of
    Thông tư 39/2020's classes as its priority (normal, priority, emergency)."""

    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the sender
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"))
    tts_engine: Mapped[str] = mapped_column(String(32), default="")
    # The emergency it became (priority "emergency", once approved).
    emergency_id: Mapped[int | None] = mapped_column(ForeignKey("emergencies.id"))

    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    media: Mapped[Media] = relationship()
    emergency: Mapped[Emergency | None] = relationship()
    deliveries: Mapped[list[BulletinDelivery]] = relationship(
        back_populates="bulletin", cascade="all, delete-orphan", order_by="BulletinDelivery.id"
    )


class BulletinDelivery(Base):
    """A bulletin at one target commune: its inbox item, who accepted or declined it and when,
    and the announcement it airs as there (an ordinary approved announcement of the commune, which
    the planner and the agents play like any other)."""

    __tablename__ = "bulletin_deliveries"
    __table_args__ = (UniqueConstraint("bulletin_id", "unit_id", name="uq_delivery_commune"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the commune
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was declined
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("announcements.id", ondelete="SET NULL")
    )

    bulletin: Mapped[Bulletin] = relationship(back_populates="deliveries")
    unit: Mapped[Unit] = relationship()
    decided_by: Mapped[User | None] = relationship()
    announcement: Mapped[Announcement | None] = relationship()


# --- Default units: an installation of one commune needs no unit set-up -----------------------


class UnitPlacementError(ValueError):
    """A row without a unit, and no single unit it could default to."""


ROOT_DEFAULT = {"kind": "province", "code": "tinh", "name": "Tỉnh"}
COMMUNE_DEFAULT = {"kind": "commune", "code": "xa", "name": "Xã"}


def _only(session: Session, query: Any, what: str) -> Any:
    rows = session.scalars(query.limit(2)).all()
    if len(rows) > 1:
        raise UnitPlacementError(f"{what} has no unit and there are several to choose from")
    return rows[0] if rows else None


def default_root(session: Session) -> Unit:
    """The one top unit, created (as ROOT_DEFAULT) when there is none yet."""
    with session.no_autoflush:
        root = _only(session, select(Unit).where(Unit.parent_id.is_(None)), "a user")
        root = root or next(
            (u for u in session.new if isinstance(u, Unit) and u.parent is None), None
        )
        if root is None:
            root = Unit(**ROOT_DEFAULT)
            session.add(root)
        return root


def default_commune(session: Session, what: str) -> Unit:
    """The one commune-level unit, created under the root when there is none yet."""
    with session.no_autoflush:
        commune = _only(session, select(Unit).where(Unit.kind.in_(COMMUNE_KINDS)), what)
        commune = commune or next(
            (u for u in session.new if isinstance(u, Unit) and u.kind in COMMUNE_KINDS), None
        )
        if commune is None:
            commune = Unit(**COMMUNE_DEFAULT, parent=default_root(session))
            session.add(commune)
        return commune


def _default_airing(session: Session, obj: Playback) -> None:
    """An airing added without them: its site's unit now and its announcement's priority (as
    ingest does)."""
    with session.no_autoflush:
        if obj.unit_id is None:
            obj.unit_id = session.scalar(select(Site.unit_id).where(Site.id == obj.site_id))
        if obj.priority is None and obj.announcement_id is not None:
            obj.priority = session.scalar(
                select(Announcement.priority).where(Announcement.id == obj.announcement_id)
            )


@event.listens_for(Session, "before_flush")
def _place_in_units(session: Session, _context: Any, _instances: Any) -> None:
    """Rows added without a unit get the installation's only one: a zone or a site its
    commune (a site first its zones'), a user or a campaign the top unit, an announcement its
    author's, an airing its site's. With several candidates this refuses rather than guess."""
    for obj in list(session.new):
        if isinstance(obj, Playback):
            _default_airing(session, obj)
            continue
        if not isinstance(obj, Zone | Site | User | Announcement | Campaign):
            continue
        if obj.unit_id is not None or obj.unit is not None:
            continue
        if isinstance(obj, Site) and obj.zones:
            obj.unit = obj.zones[0].unit or default_commune(session, f"site {obj.id}")
        elif isinstance(obj, Zone | Site):
            obj.unit = default_commune(session, f"{type(obj).__name__.lower()} {obj.id}")
        elif isinstance(obj, Announcement):
            author = obj.author or session.get(User, obj.author_id)
            owner = author.unit if author is not None else None
            obj.unit = owner or default_root(session)
        else:
            obj.unit = default_root(session)
