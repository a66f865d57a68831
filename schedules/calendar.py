"""Week calendars (view models): slots, airings, relays, emergencies and clashes per day.

The calendar shows what the planner would put in each site's plan over one local week (the same
packing the agents get, through ``schedules.planner.site_plans``), plus what could not air
(clashes: moved, overflow, overlap) so people see them before they air. A zone's calendar
merges its sites' calendars; an airing that several sites carry appears once.

An airing an emergency cut off (issue 13) is shown where it aired, as interrupted, with its
replay's time or why there is none; the replay is an airing marked as the replay of it
(``schedules.replays`` has the rule). A cut airing is never shown as moved: the planner leaves
it out of the site's packing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.interrupted import is_replay, original_id
from broadcaster.models import Announcement, Emergency, Playback, Site, Zone
from schedules.cuts import Cut, cuts_between
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

# What a site reports of an airing it did not play (broadcaster.ingest's terminal statuses).
NOT_AIRED = ("skipped", "failed", "expired", "rejected")


@dataclass(frozen=True)
class Entry:
    """One thing on the calendar: an airing, a relay, or an airing that clashed."""

    kind: str  # airing | relay | clash | interrupted
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
    replay_of: datetime | None = None  # a replay: when the emergency cut the airing
    replay_at: datetime | None = None  # an interrupted airing: its replay
    not_replayed: str = ""  # an interrupted airing: why it is not replayed (replays.REASONS)
    not_aired: str = ""  # a moved airing the site reports it did not play: its log status

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
    cuts = {(c.site_id, c.item_id): c for c in cuts_between(session, start, end)
            if c.site_id in site_ids}  # fmt: skip
    merged: dict[tuple[str, str, datetime, datetime | None, str], Entry] = {}
    entries = [e for p in plans.values() for e in _entries(p, titles, titles_r, emergencies, cuts)]
    entries = _aired_not_moved(session, entries)
    entries.extend(_cut_entries(session, cuts.values(), emergencies))
    for entry in entries:
        k = (entry.kind, entry.key, entry.start, entry.replay_at, entry.not_replayed)
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


def _aired_not_moved(session: Session, entries: list[Entry]) -> list[Entry]:
    """Airings the packing moved, as their site reported them: one it started (an emergency
    came after it began, before ingest heard of the cut) is shown where it aired; one it did
    not play (skipped, failed, expired) is shown with that status. Neither is "moved"."""
    moved = [e for e in entries if e.clash == "moved"]
    if not moved:
        return entries
    reported = {
        (site, item): (at, status)
        for site, item, at, status in session.execute(
            select(Playback.site_id, Playback.item_id, Playback.started_at, Playback.status).where(
                Playback.item_id.in_(sorted({e.key for e in moved}))
            )
        )
    }
    out = []
    for e in entries:
        at, status = reported.get((e.sites[0], e.key), (None, "")) if e.clash else (None, "")
        if at is not None:
            e = replace(
                e, start=at, end=at + (e.end - e.start), clash="", nominal=None, blocked_by=()
            )
        elif status in NOT_AIRED:
            e = replace(e, clash="", nominal=None, blocked_by=(), not_aired=status)
        out.append(e)
    return out


def _cut_entries(session: Session, cuts: Iterable[Cut], emergencies: set[int]) -> Iterable[Entry]:
    """Airings an emergency cut off: from their start (as the site reported it, else the
    nominal one) to the cut, with their replay or why there is none."""
    cuts = list(cuts)
    if not cuts:
        return
    started = {
        (site, item): at
        for site, item, at in session.execute(
            select(Playback.site_id, Playback.item_id, Playback.started_at).where(
                Playback.item_id.in_(sorted({c.item_id for c in cuts}))
            )
        )
    }
    anns = {
        a.id: a
        for a in session.scalars(
            select(Announcement).where(Announcement.id.in_({c.announcement_id for c in cuts}))
        )
    }
    for c in cuts:
        ann = anns.get(c.announcement_id)
        if ann is None:
            continue
        begin = started.get((c.site_id, c.item_id)) or min(c.nominal, c.interrupted_at)
        yield Entry(
            kind="interrupted",
            key=c.item_id,
            start=begin,
            end=max(begin, c.interrupted_at),
            title=ann.title,
            priority=ann.priority,
            announcement_id=ann.id,
            campaign_id=ann.campaign_id,
            emergency=ann.id in emergencies,
            sites=(c.site_id,),
            replay_at=c.replay_at if c.state == "planned" else None,
            not_replayed=c.reason if c.state == "none" else "",
        )


def _entries(
    plan: SitePlan,
    anns: dict[str, Announcement],
    relay_names: dict[str, str],
    emergencies: set[int],
    cuts: dict[tuple[str, str], Cut] | None = None,
) -> Iterable[Entry]:
    """One site's placed airings (moved ones marked), relays, and airings that could not air."""

    def name(key: str) -> str:
        ann = anns.get(key)
        return ann.title if ann is not None else relay_names.get(key, key)

    moved = {c.key: c for c in plan.clashes if c.kind == "moved"}
    for p in plan.placed:
        ann = p.candidate.payload.announcement
        c = moved.get(p.candidate.key)
        cut = None
        if is_replay(p.candidate.key) and cuts:
            cut = cuts.get((plan.site_id, original_id(p.candidate.key)))
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
            replay_of=cut.interrupted_at if cut is not None else None,
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
