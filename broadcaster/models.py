"""The domain model and its storage (SQLAlchemy 2). Schema changes go through Alembic.

All datetimes are timezone-aware UTC in Python; they are stored as naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("editor", "approver", "officer", "admin")
PRIORITIES = ("normal", "priority", "emergency")
# draft → submitted → approved | rejected; approved/submitted → cancelled
ANNOUNCEMENT_STATES = ("draft", "submitted", "approved", "rejected", "cancelled")
PLAYBACK_STATES = (
    "scheduled",
    "started",
    "finished",
    "failed",
    "skipped",
    "interrupted",
    "rejected",
    "expired",
)


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


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Zone(Base):
    """A hamlet (thôn, ấp, bản) or another group of sites that is targeted together."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    commune: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(16), default="vi")

    sites: Mapped[list[Site]] = relationship(secondary=site_zones, back_populates="zones")


class Site(Base):
    """A speaker site with one Pi agent: a loudspeaker cluster or the commune FM station."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    output: Mapped[str] = mapped_column(String(32), default="amplifier")
    # Last status reported by the agent (retained status / last will).
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_plan_version: Mapped[int] = mapped_column(default=0)
    agent_version: Mapped[str] = mapped_column(String(64), default="")

    zones: Mapped[list[Zone]] = relationship(secondary=site_zones, back_populates="sites")


class Media(Base):
    """A mastered audio file in the content-addressed store."""

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    duration_ms: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    tts_engine: Mapped[str] = mapped_column(String(32), default="")

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    media: Mapped[Media | None] = relationship()
    zones: Mapped[list[Zone]] = relationship(secondary=announcement_zones)
    schedule: Mapped[list[ScheduleItem]] = relationship(
        back_populates="announcement",
        cascade="all, delete-orphan",
        order_by="ScheduleItem.start_at",
    )


class ScheduleItem(Base):
    """When an announcement airs. One-off for now; recurrence extends this (issue #5)."""

    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    announcement: Mapped[Announcement] = relationship(back_populates="schedule")

    def occurrence_id(self, start: datetime) -> str:
        """Stable id of one airing, shared by the plan item and its playback events."""
        return f"s{self.id}-{int(start.timestamp())}"


class SitePlan(Base):
    """What was last published to a site; the version only ever increases."""

    __tablename__ = "site_plans"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=0)
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
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Playback(Base):
    """One row per (site, airing): the playback log that officers read, kept by ingest."""

    __tablename__ = "playbacks"
    __table_args__ = (
        UniqueConstraint("site_id", "item_id", name="uq_playback_site_item"),
        Index("ix_playbacks_scheduled_at", "scheduled_at"),
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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestCursor(Base):
    """Highest contiguous event seq stored per (site, outbox): what the ack carries."""

    __tablename__ = "ingest_cursors"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outbox: Mapped[str] = mapped_column(String(64), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(default=0)
