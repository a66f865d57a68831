"""Save-time checks: what an announcement's airings would clash with, and a free place for them.

The web form and the programme import call :func:`check_announcement` before saving, so people
see clashes before they air. It packs the announcement (as if approved now) together with the
approved programme on each of its sites, and reports its moved, overflowing or overlapping
airings with a proposed free start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from broadcaster.models import Announcement
from schedules.conflicts import GAP, Timeline
from schedules.planner import (
    Airing,
    approved_airings,
    item_airings,
    pack_sites,
    relay_airings,
)
from schedules.recurrence import DEFAULT_TZ

CHECK_DAYS = 7


@dataclass(frozen=True)
class Finding:
    """One clash of the checked announcement at one site."""

    site_id: str
    key: str
    kind: str  # moved | overflow | overlap
    nominal: datetime
    blocked_by: tuple[str, ...]
    proposed: datetime | None


def check_announcement(
    session: Session,
    ann: Announcement,
    *,
    now: datetime,
    days: int = CHECK_DAYS,
    tz: str = DEFAULT_TZ,
) -> list[Finding]:
    """Clashes of ``ann``'s airings over the next ``days`` against the approved programme."""
    end = now + timedelta(days=days)
    mine: list[Airing] = []
    for item in ann.schedule:
        mine.extend(item_airings(item, now, end, tz))
    if not mine:
        return []
    keys = {a.item_id for a in mine}
    sites = sorted({s for a in mine for s in a.site_ids})
    others = [a for a in approved_airings(session, now, end, tz=tz) if a.item_id not in keys]
    relays = relay_airings(session, now, end, tz=tz)
    plans = pack_sites([*others, *mine], sites, relays)
    findings = []
    for site_id, plan in plans.items():
        line = Timeline()
        for p in plan.placed:
            if p.candidate.key not in keys:
                line.add(p.start, p.end, p.candidate.key)
        for r in plan.relays:
            line.add(r.start, r.end, f"relay-{r.relay.id}")
        for c in plan.clashes:
            if c.key not in keys:
                continue
            airing = next(a for a in mine if a.item_id == c.key)
            proposed, _ = line.earliest(c.nominal, airing.duration, GAP)
            findings.append(Finding(site_id, c.key, c.kind, c.nominal, c.blocked_by, proposed))
    findings.sort(key=lambda f: (f.nominal, f.site_id))
    return findings


def first_free(
    timelines: list[Timeline], at: datetime, length: timedelta, gap: timedelta = GAP
) -> datetime:
    """The earliest moment at or after ``at`` that is free on every timeline."""
    t = at
    while True:
        moved = False
        for line in timelines:
            t2, _ = line.earliest(t, length, gap)
            if t2 != t:
                t, moved = t2, True
        if not moved:
            return t
