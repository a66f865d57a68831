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
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.interrupted import replay_id
from broadcaster.models import InterruptedAiring
from schedules.conflicts import GAP, Timeline
from schedules.cuts import Cut, day_end, replay_items
from schedules.planner import (
    Airing,
    approved_airings,
    by_language,
    pack_sites,
    relay_airings,
    site_languages,
)
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

    One packing per local day and audience (``pack_sites`` packs sites with the same airings
    once), so an emergency that cut thousands of sites costs a few packings. A site's cuts are
    decided in the order they happened, each seeing the replays before it, so two never take
    the same free time."""
    rows = pending(session)
    if not rows:
        return 0
    items = replay_items(session, [Cut.of(r) for r in rows])
    by_day: dict[date, list[InterruptedAiring]] = defaultdict(list)
    for row in rows:
        item = items.get(row.schedule_item_id)
        if item is None or item.cancelled(row.nominal):
            _settle(row, now, None, "cancelled")
        elif now >= day_end(row.interrupted_at, tz):
            _settle(row, now, None, "day-over")
        else:
            by_day[to_local(row.interrupted_at, tz).date()].append(row)
    languages = site_languages(session) if by_day else {}
    for day, todo in sorted(by_day.items()):
        start = to_utc(datetime.combine(day, time()), tz)
        end = to_utc(datetime.combine(day + timedelta(days=1), time()), tz)
        sites = sorted({r.site_id for r in todo})
        plans = pack_sites(
            approved_airings(session, start, end, tz=tz),  # without the cut airings
            sites,
            relay_airings(session, start, end, tz=tz),
        )
        for site in sites:
            busy = Timeline()
            for p in plans[site].placed:
                busy.add(p.start, p.end, p.candidate.key)
            for r in plans[site].relays:
                busy.add(r.start, r.end, f"relay-{r.relay.id}")
            for row in (r for r in todo if r.site_id == site):
                announcement = items[row.schedule_item_id].announcement
                probe = Airing(replay_id(row.item_id), start, announcement, frozenset([site]))
                duration = by_language([probe], languages)[0].duration
                at = _free_at(busy, _whole_second(max(row.interrupted_at, now + lead)), duration)
                if at + duration > end:
                    _settle(row, now, None, "no-free-time")
                    continue
                _settle(row, now, at, "")
                busy.add(at, at + duration, probe.item_id)
    session.flush()
    return len(rows)


def _free_at(busy: Timeline, earliest: datetime, duration: timedelta) -> datetime:
    """The first whole second at or after ``earliest`` when ``duration`` fits in ``busy``."""
    at = earliest
    while True:
        found, _blockers = busy.earliest(at, duration, GAP)
        at = _whole_second(found)
        if at == found:
            return at


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
