"""Airings an emergency cut off, as the planner and the calendar read them (issue 13).

The rows are ``broadcaster.models.InterruptedAiring`` (ingest writes them, the scheduler
decides their replay: ``schedules.replays``); the planner puts the replays into the plans
(``schedules.planner.with_replays``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.interrupted import replay_id
from broadcaster.models import (
    InterruptedAiring,
    ScheduleItem,
)
from schedules.airable import airable_items
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc


@dataclass(frozen=True)
class Cut:
    """One airing cut off at one site, as the planner and the calendar need it."""

    site_id: str
    item_id: str
    announcement_id: int
    schedule_item_id: int
    nominal: datetime
    interrupted_at: datetime
    state: str
    replay_at: datetime | None
    reason: str

    @property
    def replay_id(self) -> str:
        return replay_id(self.item_id)

    @classmethod
    def of(cls, row: InterruptedAiring) -> Cut:
        return cls(
            row.site_id,
            row.item_id,
            row.announcement_id,
            row.schedule_item_id,
            row.nominal,
            row.interrupted_at,
            row.state,
            row.replay_at,
            row.reason,
        )


def day_end(at: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """Local midnight after ``at`` (aware UTC)."""
    day = to_local(at, tz).date() + timedelta(days=1)
    return to_utc(datetime.combine(day, time()), tz)


def cuts_between(
    session: Session, start: datetime, end: datetime, ann_ids: Iterable[int] | None = None
) -> list[Cut]:
    """The cut airings whose cut airing or replay may lie in [start, end) (cut within a day
    of it), optionally of some announcements only."""
    q = select(InterruptedAiring).where(
        InterruptedAiring.interrupted_at >= start - timedelta(days=1),
        InterruptedAiring.interrupted_at < end + timedelta(days=1),
    )
    if ann_ids is not None:
        q = q.where(InterruptedAiring.announcement_id.in_(sorted(set(ann_ids))))
    rows = session.scalars(q.order_by(InterruptedAiring.site_id, InterruptedAiring.item_id))
    return [Cut.of(r) for r in rows]


def replay_items(session: Session, cuts: Iterable[Cut]) -> dict[int, ScheduleItem]:
    """The schedule items of ``cuts`` that may still air (approved and rendered), loaded as
    the planner loads them (``schedules.airable``)."""
    ids = sorted({c.schedule_item_id for c in cuts})
    if not ids:
        return {}
    items = session.scalars(airable_items().where(ScheduleItem.id.in_(ids)))
    return {i.id: i for i in items}
