"""The sender's view of a bulletin, per commune: received, accepted or declined (with the
reason, by whom, when), scheduled for when, aired at how many of the commune's sites, coverage.

Airings are counted under the unit they aired under (``Playback.unit_id``), inside the
commune's subtree, and only verified, finished ones (as proof of broadcast counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import (
    Announcement,
    Bulletin,
    BulletinDelivery,
    Playback,
    ScheduleItem,
    Site,
    Unit,
    User,
)
from broadcaster.scope import Scope
from schedules.bulletins import ACCEPT_ROLES
from schedules.recurrence import DEFAULT_TZ
from schedules.slots import SlotSpec, next_window


@dataclass(frozen=True)
class CommuneStatus:
    delivery: BulletinDelivery
    scheduled_for: datetime | None
    sites: int  # the commune's speaker sites
    aired: int  # sites that played it to the end

    @property
    def coverage(self) -> float | None:
        """Aired sites over the commune's sites (None: the commune has none)."""
        return self.aired / self.sites if self.sites else None


def scheduled_for(item: ScheduleItem, tz: str = DEFAULT_TZ) -> datetime | None:
    """When the airing is planned: its time, or the start of its slot's window."""
    if item.slot is None:
        return item.start_at
    w = next_window(SlotSpec.of(item.slot), item.start_at, tz)
    return w.start if w is not None else None


def commune_status(
    session: Session, bulletin: Bulletin, tz: str = DEFAULT_TZ
) -> list[CommuneStatus]:
    """Each target commune's line, by commune name: three queries whatever the number of
    communes (the deliveries with what they show; the sites, and the sites that aired it,
    counted per commune's subtree)."""
    deliveries = session.scalars(
        select(BulletinDelivery)
        .where(BulletinDelivery.bulletin_id == bulletin.id)
        .options(
            selectinload(BulletinDelivery.unit),
            selectinload(BulletinDelivery.announcement)
            .selectinload(Announcement.schedule)
            .selectinload(ScheduleItem.slot),
        )
    ).all()
    # Each target commune (root) with every unit of its subtree (a merged commune's below it).
    tree = (
        select(Unit.id.label("root"), Unit.id.label("id"))
        .where(Unit.id.in_([d.unit_id for d in deliveries]))
        .cte("commune_units", recursive=True)
    )
    tree = tree.union_all(select(tree.c.root, Unit.id).where(Unit.parent_id == tree.c.id))
    sites: dict[int, int] = dict(
        session.execute(
            select(tree.c.root, func.count(Site.id))
            .join(Site, Site.unit_id == tree.c.id)
            .group_by(tree.c.root)
        ).all()
    )
    aired: dict[int, int] = dict(
        session.execute(
            select(tree.c.root, func.count(func.distinct(Playback.site_id)))
            .select_from(BulletinDelivery)
            .join(tree, tree.c.root == BulletinDelivery.unit_id)
            .join(
                Playback,
                (Playback.announcement_id == BulletinDelivery.announcement_id)
                & (Playback.unit_id == tree.c.id),
            )
            .where(
                BulletinDelivery.bulletin_id == bulletin.id,
                Playback.status == "finished",
                Playback.verified.is_(True),
            )
            .group_by(tree.c.root)
        ).all()
    )
    out = []
    for d in sorted(deliveries, key=lambda d: d.unit.name):
        ann = d.announcement
        when = scheduled_for(ann.schedule[0], tz) if ann is not None and ann.schedule else None
        out.append(
            CommuneStatus(d, when, sites.get(d.unit_id, 0), aired.get(d.unit_id, 0) if ann else 0)
        )
    return out


def inbox(session: Session, sc: Scope | None = None, limit: int = 200) -> list[BulletinDelivery]:
    """The inbox items of the communes in ``sc`` (default: every commune's), newest first, with
    their bulletins and senders loaded (the inbox page)."""
    return list(
        session.scalars(
            select(BulletinDelivery)
            .where((sc or Scope.whole()).deliveries())
            .join(BulletinDelivery.bulletin)
            .options(selectinload(BulletinDelivery.bulletin).selectinload(Bulletin.unit))
            .order_by(BulletinDelivery.received_at.desc(), BulletinDelivery.id.desc())
            .limit(limit)
        )
    )


def waiting(session: Session, user: User, sc: Scope) -> int:
    """The navigation's badge: bulletins waiting for ``user``'s decision (the staff of a
    commune; an upper unit's staff do not decide for the communes); ``sc`` is the user's."""
    if user.role not in ACCEPT_ROLES or not user.unit.holds_zones:
        return 0
    return inbox_count(session, sc)


def inbox_count(session: Session, sc: Scope) -> int:
    """How many bulletins wait in the inboxes of the communes in ``sc``."""
    return (
        session.scalar(
            select(func.count()).where(
                BulletinDelivery.state == "inbox", sc.on(BulletinDelivery.unit_id)
            )
        )
        or 0
    )
