"""The "Hôm nay" dashboard's figures for one user (issue 13): what is on air now, what airs
next today, what waits for their approval, and which sites are offline. All within their scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import Announcement, Emergency, Playback, ScheduleItem, Site, User
from broadcaster.queries.waiting import awaiting
from broadcaster.roles import APPROVE_ROLES
from broadcaster.scope import Scope
from schedules.recurrence import next_occurrence

ON_AIR_WITHIN = timedelta(hours=1)  # a "started" older than this is not shown as on air
RECENT_EMERGENCY = timedelta(hours=6)
NEXT_LIMIT = 12
WAITING_LIMIT = 8


@dataclass(frozen=True)
class OnAir:
    site: str
    title: str
    started_at: datetime
    priority: str


@dataclass(frozen=True)
class NextAiring:
    at: datetime
    announcement: Announcement
    zones: list[str]


@dataclass
class Today:
    on_air: list[OnAir] = field(default_factory=list)
    next_up: list[NextAiring] = field(default_factory=list)
    waiting: list[Announcement] = field(default_factory=list)
    waiting_total: int = 0
    rejected: list[Announcement] = field(default_factory=list)  # the user's own, to fix
    offline: list[Site] = field(default_factory=list)
    sites_total: int = 0
    emergencies: list[Emergency] = field(default_factory=list)


def today(session: Session, scope: Scope, user: User, now: datetime, tz: str) -> Today:
    out = Today()
    out.on_air = [
        OnAir(
            site.name,
            ann.title if ann else pb.item_id,
            pb.started_at or now,
            ann.priority if ann else "",
        )
        for pb, site, ann in session.execute(
            select(Playback, Site, Announcement)
            .join(Site, Site.id == Playback.site_id)
            .outerjoin(Announcement, Announcement.id == Playback.announcement_id)
            .where(
                Playback.status == "started",
                Playback.started_at >= now - ON_AIR_WITHIN,
                scope.playbacks(),
            )
            .order_by(Playback.started_at.desc())
        )
    ]
    out.next_up = _next_up(session, scope, now, tz)
    if user.role in APPROVE_ROLES:
        waiting = list(
            session.scalars(
                select(Announcement)
                .where(awaiting(scope, user.id))
                .order_by(Announcement.submitted_at)
                .options(selectinload(Announcement.author))
            )
        )
        out.waiting, out.waiting_total = waiting[:WAITING_LIMIT], len(waiting)
    out.rejected = list(
        session.scalars(
            select(Announcement)
            .where(Announcement.status == "rejected", Announcement.author_id == user.id)
            .order_by(Announcement.decided_at.desc())
            .limit(WAITING_LIMIT)
        )
    )
    out.sites_total = (
        session.scalar(select(func.count()).select_from(Site).where(scope.sites())) or 0
    )
    out.offline = list(
        session.scalars(
            select(Site).where(Site.state == "offline", scope.sites()).order_by(Site.name)
        )
    )
    out.emergencies = list(
        session.scalars(
            select(Emergency)
            .where(Emergency.sent_at >= now - RECENT_EMERGENCY, scope.emergencies())
            .order_by(Emergency.sent_at.desc())
            .options(selectinload(Emergency.announcement))
        )
    )
    return out


def _next_up(session: Session, scope: Scope, now: datetime, tz: str) -> list[NextAiring]:
    """Approved airings from now to the end of the local day, soonest first."""
    local = now.astimezone(ZoneInfo(tz))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = midnight.astimezone(UTC)
    items = session.scalars(
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .where(
            Announcement.status == "approved",
            ScheduleItem.start_at < end,
            (ScheduleItem.valid_until.is_(None)) | (ScheduleItem.valid_until >= now),
            scope.announcements(),
        )
        .options(selectinload(ScheduleItem.announcement).selectinload(Announcement.zones))
    )
    found = []
    for item in items:
        at = next_occurrence(item, now, tz=tz)
        if at is not None and at < end:
            ann = item.announcement
            found.append(NextAiring(at, ann, [z.name for z in ann.zones]))
    found.sort(key=lambda n: (n.at, n.announcement.id))
    return found[:NEXT_LIMIT]
