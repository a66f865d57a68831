"""Week calendars (view models): slots, airings, relays, emergencies and clashes per day.

The calendar shows what the planner would put in each site's plan over one local week (the same
packing the agents get, through ``schedules.planner.site_plans``), plus what could not air
(clashes: moved, overflow, overlap) so people see them before they air. A zone's calendar
merges its sites' calendars; an airing that several sites carry appears once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import Announcement, Emergency, Site, Zone
from schedules.planner import (
    SitePlan,
    approved_airings,
    pack_sites,
    relay_airings,
    slot_specs,
)
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc
from schedules.slots import windows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One thing on the calendar: an airing, a relay, or an airing that clashed."""

    kind: str  # airing | relay | clash
    key: str  # occurrence id, or relay-<id>
    start: datetime  # aware UTC (the placed start; the nominal one for clashes)
    end: datetime
    title: str
    priority: str = "normal"
    announcement_id: int | None = None
    campaign_id: int | None = None
    emergency: bool = False
    clash: str = ""  # moved | overflow | overlap
    nominal: datetime | None = None  # where a moved airing wanted to be
    blocked_by: tuple[str, ...] = ()  # titles of what was in the way
    sites: tuple[str, ...] = ()

    @property
    def minutes(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 60))

    @property
    def duration_ms(self) -> int:
        return int((self.end - self.start).total_seconds() * 1000)


@dataclass(frozen=True)
class Band:
    """One programme slot window on one day."""

    name: str
    start: datetime
    end: datetime


@dataclass
class Day:
    day: date
    bands: list[Band] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def blocks(self) -> list[tuple[Band | None, list[Entry]]]:
        """Entries grouped under the slot band they start in, in time order; loose ones alone."""
        out: list[tuple[Band | None, list[Entry]]] = []
        pending = sorted(self.entries, key=lambda e: (e.start, e.key))
        bands = sorted(self.bands, key=lambda b: b.start)
        for band in bands:
            before = [e for e in pending if e.start < band.start]
            out.extend((None, [e]) for e in before)
            inside = [e for e in pending if band.start <= e.start < band.end]
            out.append((band, inside))
            pending = [e for e in pending if e.start >= band.end]
        out.extend((None, [e]) for e in pending)
        return out

    @property
    def clashes(self) -> int:
        return sum(1 for e in self.entries if e.kind == "clash" or e.clash)


@dataclass
class Week:
    """Seven local days from a Monday, for one site or one zone."""

    start: date
    days: list[Day]
    sites: tuple[str, ...]

    @property
    def clashes(self) -> int:
        return sum(d.clashes for d in self.days)

    @property
    def previous(self) -> date:
        return self.start - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.start + timedelta(days=7)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """The UTC instants of Monday 00:00 and the next Monday 00:00, local time."""
    start = to_utc(datetime.combine(monday, time()), tz)
    return start, to_utc(datetime.combine(monday + timedelta(days=7), time()), tz)


def site_week(session: Session, site_id: str, day: date, *, tz: str = DEFAULT_TZ) -> Week:
    """The week containing ``day`` at one speaker site."""
    return _week(session, [site_id], monday_of(day), tz)


def zone_week(session: Session, zone_id: str, day: date, *, tz: str = DEFAULT_TZ) -> Week:
    """The week containing ``day`` in one zone: its sites' calendars merged."""
    zone = session.get(Zone, zone_id)
    sites = sorted(s.id for s in zone.sites) if zone is not None else []
    return _week(session, sites, monday_of(day), tz)


def _week(session: Session, site_ids: list[str], monday: date, tz: str) -> Week:
    start, end = week_bounds(monday, tz)
    days = {monday + timedelta(days=i): Day(monday + timedelta(days=i)) for i in range(7)}
    for w in windows(slot_specs(session), start, end, tz):
        day = to_local(w.start, tz).date()
        if day in days:
            days[day].bands.append(Band(w.slot.name, w.start, w.end))
    airings = approved_airings(session, start, end, tz=tz)
    relays = relay_airings(session, start, end, tz=tz)
    plans = pack_sites(airings, site_ids, relays)
    titles = {a.item_id: a.announcement for a in airings}
    titles_r = {f"relay-{r.relay.id}": r.relay.name for r in relays}
    emergencies = _emergency_announcements(session, start, end)
    merged: dict[tuple[str, str, datetime], Entry] = {}
    for plan in plans.values():
        for entry in _entries(plan, titles, titles_r, emergencies):
            k = (entry.kind, entry.key, entry.start)
            old = merged.get(k)
            if old is not None:
                entry = replace(entry, sites=tuple(sorted({*entry.sites, *old.sites})))
            merged[k] = entry
    for entry in merged.values():
        day = to_local(entry.start, tz).date()
        if day in days:
            days[day].entries.append(entry)
    for d in days.values():
        d.entries.sort(key=lambda e: (e.start, e.key))
    return Week(monday, list(days.values()), tuple(site_ids))


def _emergency_announcements(session: Session, start: datetime, end: datetime) -> set[int]:
    rows = session.scalars(
        select(Emergency.announcement_id).where(
            Emergency.sent_at >= start - timedelta(days=1), Emergency.sent_at < end
        )
    )
    return set(rows)


def _entries(
    plan: SitePlan,
    anns: dict[str, Announcement],
    relay_names: dict[str, str],
    emergencies: set[int],
) -> Iterable[Entry]:
    """One site's placed airings (moved ones marked), relays, and airings that could not air."""

    def name(key: str) -> str:
        ann = anns.get(key)
        return ann.title if ann is not None else relay_names.get(key, key)

    moved = {c.key: c for c in plan.clashes if c.kind == "moved"}
    for p in plan.placed:
        ann = p.candidate.payload.announcement
        c = moved.get(p.candidate.key)
        yield Entry(
            kind="airing",
            key=p.candidate.key,
            start=p.start,
            end=p.end,
            title=ann.title,
            priority=ann.priority,
            announcement_id=ann.id,
            campaign_id=ann.campaign_id,
            emergency=ann.id in emergencies or ann.priority == "emergency",
            clash="moved" if c else "",
            nominal=c.nominal if c else None,
            blocked_by=tuple(name(k) for k in c.blocked_by) if c else (),
            sites=(plan.site_id,),
        )
    for r in plan.relays:
        yield Entry(
            kind="relay",
            key=f"relay-{r.relay.id}",
            start=r.start,
            end=r.end,
            title=r.relay.name,
            sites=(plan.site_id,),
        )
    for c in plan.clashes:
        if c.kind == "moved":
            continue
        ann = anns.get(c.key)
        yield Entry(
            kind="clash",
            key=c.key,
            start=c.nominal,
            end=c.nominal + timedelta(minutes=1),
            title=name(c.key),
            priority=ann.priority if ann is not None else "normal",
            announcement_id=ann.id if ann is not None else None,
            clash=c.kind,
            nominal=c.nominal,
            blocked_by=tuple(name(k) for k in c.blocked_by),
            sites=(plan.site_id,),
        )


def site_names(session: Session, site_ids: Iterable[str]) -> dict[str, str]:
    ids = list(site_ids)
    return {s.id: s.name for s in session.scalars(select(Site).where(Site.id.in_(ids)))}
