"""The sender's view of a bulletin, per commune: received, accepted or declined (with the
reason, by whom, when), scheduled for when, aired at how many of the commune's sites, coverage.

Airings are counted under the unit they aired under (``Playback.unit_id``), inside the
commune's subtree, and only verified, finished ones (as proof of broadcast counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import Bulletin, BulletinDelivery, Playback, ScheduleItem, Site
from broadcaster.units import subtree_ids
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
    out = []
    for d in sorted(bulletin.deliveries, key=lambda d: d.unit.name):
        units = sorted(subtree_ids(session, d.unit_id))
        sites = session.scalar(select(func.count()).where(Site.unit_id.in_(units))) or 0
        aired = 0
        when = None
        if d.announcement is not None:
            aired = (
                session.scalar(
                    select(func.count(func.distinct(Playback.site_id))).where(
                        Playback.announcement_id == d.announcement_id,
                        Playback.unit_id.in_(units),
                        Playback.status == "finished",
                        Playback.verified.is_(True),
                    )
                )
                or 0
            )
            if d.announcement.schedule:
                when = scheduled_for(d.announcement.schedule[0], tz)
        out.append(CommuneStatus(d, when, sites, aired))
    return out


def inbox_count(session: Session, unit_ids: frozenset[int]) -> int:
    """How many bulletins wait in these units' inboxes."""
    return (
        session.scalar(
            select(func.count()).where(
                BulletinDelivery.state == "inbox", BulletinDelivery.unit_id.in_(sorted(unit_ids))
            )
        )
        or 0
    )
