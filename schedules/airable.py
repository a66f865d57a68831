"""The schedule items that may air: approved and rendered, with what the planner reads of them
(the announcement, its media, its recorded versions' media, the slot, the cancellations).

One query for the planner's window (``schedules.planner.candidate_items``) and for the items of
the airings an emergency cut off (``schedules.cuts.replay_items``), so both load the same.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from broadcaster.models import Announcement, AnnouncementVersion, ScheduleItem


def airable_items() -> Select[ScheduleItem]:
    """Every schedule item that may air, with what the planner reads loaded; callers narrow it."""
    return (
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .where(
            Announcement.status == "approved",
            Announcement.media_sha256.is_not(None),
        )
        .options(
            selectinload(ScheduleItem.announcement).selectinload(Announcement.media),
            selectinload(ScheduleItem.announcement)
            .selectinload(Announcement.versions)
            .selectinload(AnnouncementVersion.media),
            selectinload(ScheduleItem.slot),
            selectinload(ScheduleItem.cancellations),
        )
    )
