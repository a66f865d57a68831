"""Replays of airings an emergency cut off (issue 13): the rule, and the plans' side of it.

**The rule.** An airing an emergency cut off at a site airs again there, whole, at the first
free moment after the cut (and at least ``LEAD`` from the decision, so the plan reaches the
agent first) on the same local day: a moment when nothing else is planned on that site (no
airing, no relay, the emergency included), with the usual ``GAP`` either side. If it cannot end
before local midnight, it is not replayed (``no-free-time``); if the scheduler decides only
after that day ended, neither (``day-over``); nor when the airing was cancelled or its
announcement withdrawn meanwhile (``cancelled``). An airing is replayed at most once per site:
a replay cut off again is not replayed (ingest records one row per site and airing,
``broadcaster.interrupted``).

The scheduler (one process) decides each ``pending`` row once and stores the outcome, so a
restart, another ingest worker or an event delivered twice never makes a second replay. The
planner then leaves the cut airing out of that site's plan and puts the replay in
(:func:`with_replays`) at ``replay_at``, as a fixed-time airing of the announcement with the id
``<airing id>-r``. The week calendar shows the cut airing as interrupted, and the replay (or
why there is none) beside it (``schedules.calendar``).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.interrupted import replay_id
from broadcaster.models import InterruptedAiring
from schedules.conflicts import GAP, Timeline
from schedules.cuts import Cut, day_end, replay_items
from schedules.planner import Airing, by_language, site_languages, site_plans
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc

logger = logging.getLogger(__name__)

# A replay starts at least this long after it is decided: the plan reaches the agent first.
LEAD = timedelta(seconds=20)
# Why an airing was not replayed (shown in the calendar).
REASONS = ("no-free-time", "day-over", "cancelled")


def pending(session: Session) -> list[InterruptedAiring]:
    return list(
        session.scalars(
            select(InterruptedAiring)
            .where(InterruptedAiring.state == "pending")
            .order_by(InterruptedAiring.interrupted_at, InterruptedAiring.id)
        )
    )


def decide(session: Session, now: datetime, *, tz: str = DEFAULT_TZ, lead: timedelta = LEAD) -> int:
    """Decide every pending replay (the rule in the module's docstring); returns how many.

    Rows are decided one after the other, so two cut airings of one site never take the same
    free time (each decision sees the replays decided before it)."""
    rows = pending(session)
    languages: dict[str, str] | None = None
    for row in rows:
        end = day_end(row.interrupted_at, tz)
        item = replay_items(session, [Cut.of(row)]).get(row.schedule_item_id)
        if item is None or item.cancelled(row.nominal):
            _settle(row, now, None, "cancelled")
            continue
        if now >= end:
            _settle(row, now, None, "day-over")
            continue
        if languages is None:
            languages = site_languages(session)
        earliest = _whole_second(max(row.interrupted_at, now + lead))
        day_start = to_utc(datetime.combine(to_local(row.interrupted_at, tz).date(), time()), tz)
        plan = site_plans(session, day_start, end, tz=tz, site_ids=[row.site_id])[row.site_id]
        busy = Timeline()
        for p in plan.placed:
            busy.add(p.start, p.end, p.candidate.key)
        for r in plan.relays:
            busy.add(r.start, r.end, f"relay-{r.relay.id}")
        probe = Airing(
            replay_id(row.item_id), earliest, item.announcement, frozenset([row.site_id])
        )
        duration = by_language([probe], languages)[0].duration
        at = earliest
        while True:  # at a whole second, and free
            found, _blockers = busy.earliest(at, duration, GAP)
            at = _whole_second(found)
            if at == found:
                break
        if at + duration > end:
            _settle(row, now, None, "no-free-time")
        else:
            _settle(row, now, at, "")
        session.flush()  # the next row's packing sees this replay
    return len(rows)


def _settle(row: InterruptedAiring, now: datetime, at: datetime | None, reason: str) -> None:
    row.state = "planned" if at is not None else "none"
    row.replay_at = at
    row.reason = reason
    row.decided_at = now
    if at is not None:
        logger.info(
            "airing %s cut off at %s by an emergency: replay at %s",
            row.item_id,
            row.site_id,
            at.isoformat(),
        )
    else:
        logger.warning(
            "airing %s cut off at %s: not replayed (%s)", row.item_id, row.site_id, reason
        )


def _whole_second(at: datetime) -> datetime:
    return at.replace(microsecond=0) + timedelta(seconds=math.ceil(at.microsecond / 1e6))
