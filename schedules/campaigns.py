"""Campaigns: create and edit them, and their progress (planned vs achieved) per zone and week.

Progress is a campaign's target, scheduled and played airings per zone in a week. *Scheduled* counts the approved airings of the campaign's announcements that reach the zone in
the week (the planner's expansion); *achieved* counts the airings that at least one site of the
zone reported ``finished`` (the playback log), so an airing heard at three sites counts once,
and a site serving several zones counts only for the zones the announcement aimed at.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    User,
    announcement_zones,
    site_zones,
)
from broadcaster.scope import Scope
from schedules.calendar import monday_of, week_bounds
from schedules.planner import approved_airings
from schedules.recurrence import DEFAULT_TZ
from schedules.workflow import WorkflowError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignFields:
    """What an editor sets on a campaign."""

    name: str
    starts_on: date
    ends_on: date
    category: str = ""
    description: str = ""
    target_per_week: int = 0
    zone_ids: Sequence[str] = ()


def create_campaign(
    session: Session, fields: CampaignFields, *, by: User | None = None
) -> Campaign:
    """Add a campaign (flushed, so it has its id); the caller commits. Made ``by`` a user, it
    belongs to their unit and names only zones in their scope (None: the server itself)."""
    campaign = Campaign(unit_id=by.unit_id if by is not None else None)
    _apply(session, campaign, fields, by)
    session.add(campaign)
    session.flush()
    logger.info("campaign %d created", campaign.id)
    return campaign


def update_campaign(
    session: Session, campaign: Campaign, fields: CampaignFields, *, by: User | None = None
) -> Campaign:
    """Change every field of ``campaign``; the caller commits."""
    _apply(session, campaign, fields, by)
    session.flush()
    logger.info("campaign %d updated", campaign.id)
    return campaign


def _apply(session: Session, campaign: Campaign, fields: CampaignFields, by: User | None) -> None:
    name = fields.name.strip()
    if not name:
        raise WorkflowError("campaign name is empty", "campaign-name-empty")
    if fields.ends_on < fields.starts_on:
        raise WorkflowError(
            f"campaign ends on {fields.ends_on} before it starts on {fields.starts_on}",
            "campaign-ends-before-start",
        )
    ids = list(dict.fromkeys(fields.zone_ids))
    scope = Scope.of(session, by) if by is not None else Scope.whole()
    zones = scope.zones_in(session, ids)
    missing = sorted(set(ids) - {z.id for z in zones})
    if missing:
        raise WorkflowError(
            f"unknown zones: {', '.join(missing)}", "unknown-zones", zones=", ".join(missing)
        )
    campaign.name = name
    campaign.category = fields.category
    campaign.description = fields.description.strip()
    campaign.starts_on = fields.starts_on
    campaign.ends_on = fields.ends_on
    campaign.target_per_week = fields.target_per_week
    campaign.zones = zones


@dataclass(frozen=True)
class ZoneProgress:
    zone_id: str
    zone_name: str
    target: int
    scheduled: int
    achieved: int

    @property
    def percent(self) -> int:
        """Achieved as a share of the target (100 when there is no target)."""
        if self.target <= 0:
            return 100
        return min(100, round(100 * self.achieved / self.target))


def week_progress(
    session: Session, campaign: Campaign, monday: date, *, tz: str = DEFAULT_TZ
) -> list[ZoneProgress]:
    """The week of ``monday`` (any day of it): one row per target zone (all the announcements' zones when the campaign names none)."""
    start, end = week_bounds(monday_of(monday), tz)
    ann_ids = list(
        session.scalars(select(Announcement.id).where(Announcement.campaign_id == campaign.id))
    )
    zones = {z.id: z for z in campaign.zones}
    if not zones:
        for ann in campaign.announcements:
            zones.update({z.id: z for z in ann.zones})
    scheduled: dict[str, set[str]] = defaultdict(set)
    for a in approved_airings(session, start, end, tz=tz):
        if a.announcement.campaign_id == campaign.id:
            for z in a.announcement.zones:
                scheduled[z.id].add(a.item_id)
    achieved: dict[str, int] = {}
    if ann_ids:
        when = func.coalesce(Playback.scheduled_at, Playback.started_at)
        rows = session.execute(
            select(site_zones.c.zone_id, func.count(func.distinct(Playback.item_id)))
            .join(site_zones, site_zones.c.site_id == Playback.site_id)
            .join(  # a site serving several zones counts only for the zones aimed at
                announcement_zones,
                (announcement_zones.c.announcement_id == Playback.announcement_id)
                & (announcement_zones.c.zone_id == site_zones.c.zone_id),
            )
            .where(
                Playback.announcement_id.in_(ann_ids),
                Playback.status == "finished",
                when >= start,
                when < end,
            )
            .group_by(site_zones.c.zone_id)
        )
        achieved = {zone_id: n for zone_id, n in rows}
    return [
        ZoneProgress(
            z.id,
            z.name,
            campaign.target_per_week,
            len(scheduled.get(z.id, ())),
            achieved.get(z.id, 0),
        )
        for z in sorted(zones.values(), key=lambda z: z.name)
    ]
