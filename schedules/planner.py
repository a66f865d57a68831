"""Materialize each site's plan: the approved airings within the horizon, as wire PlanItems.

Only approved announcements with rendered audio are ever considered: this is the second guard
(after the workflow) that nothing unapproved reaches a speaker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import Announcement, ScheduleItem, Site, Zone
from broadcaster.wire.messages import Media as WireMedia
from broadcaster.wire.messages import PlanItem

# Airings that started this long ago stay in the plan, so an agent that reconnects late
# can still report them as skipped instead of never hearing of them.
PAST_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Airing:
    """One approved airing of one announcement, before it is split per site."""

    item_id: str
    start: datetime
    announcement: Announcement
    site_ids: frozenset[str]


def media_url(public_url: str, sha256: str, ext: str) -> str:
    return f"{public_url.rstrip('/')}/media/{sha256}.{ext}"


def approved_airings(session: Session, start: datetime, end: datetime) -> list[Airing]:
    """Approved airings whose start lies in [start, end)."""
    rows = session.scalars(
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .where(
            Announcement.status == "approved",
            Announcement.media_sha256.is_not(None),
            ScheduleItem.start_at >= start,
            ScheduleItem.start_at < end,
        )
        .options(
            selectinload(ScheduleItem.announcement)
            .selectinload(Announcement.zones)
            .selectinload(Zone.sites),
            selectinload(ScheduleItem.announcement).selectinload(Announcement.media),
        )
        .order_by(ScheduleItem.start_at, ScheduleItem.id)
    )
    out = []
    for item in rows:
        ann = item.announcement
        sites = frozenset(s.id for z in ann.zones for s in z.sites)
        out.append(Airing(item.occurrence_id(item.start_at), item.start_at, ann, sites))
    return out


def split_by_site(
    airings: Iterable[Airing], site_ids: Iterable[str], public_url: str
) -> dict[str, list[PlanItem]]:
    """Per-site plan items, sorted by start; every known site gets an entry (maybe empty)."""
    plans: dict[str, list[PlanItem]] = defaultdict(list)
    for site_id in site_ids:
        plans[site_id] = []
    for a in airings:
        media = a.announcement.media
        assert media is not None  # approved_airings only returns rendered announcements
        item = PlanItem(
            id=a.item_id,
            start=a.start,
            title=a.announcement.title,
            announcement_id=a.announcement.id,
            priority=a.announcement.priority,
            media=WireMedia(
                sha256=media.sha256,
                url=media_url(public_url, media.sha256, media.ext),
                size=media.size,
                duration_ms=media.duration_ms,
            ),
        )
        for site_id in a.site_ids:
            if site_id in plans:
                plans[site_id].append(item)
    for items in plans.values():
        items.sort(key=lambda i: (i.start, i.id))
    return dict(plans)


def materialize(
    session: Session, now: datetime, horizon: timedelta, public_url: str
) -> dict[str, list[PlanItem]]:
    """Every site's plan items from ``now - PAST_GRACE`` to ``now + horizon``."""
    site_ids = list(session.scalars(select(Site.id)))
    airings = approved_airings(session, now - PAST_GRACE, now + horizon)
    return split_by_site(airings, site_ids, public_url)
