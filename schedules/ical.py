"""iCalendar (RFC 5545) export of one zone's programme, for calendar apps.

Recurring items go out as one VEVENT with their stored RRULE unchanged (its DTSTART is the item's
start in the commune's local time, with a TZID); items placed "in the next slot" or ending at a
validity date are expanded into one VEVENT per airing over the export window, because their
real times depend on the slot windows. Relays are weekly VEVENTs; emergencies are the approved
emergency announcements and show like any airing, with the EMERGENCY category.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import (
    WEEKDAYS,
    Announcement,
    Relay,
    ScheduleItem,
    Zone,
    announcement_zones,
)
from schedules.planner import MS_PER_CHAR_ESTIMATE, item_airings
from schedules.recurrence import DEFAULT_TZ, to_local

logger = logging.getLogger(__name__)

PAST = timedelta(days=7)
AHEAD = timedelta(days=35)
PRODID = "-//broadcaster//commune programme//VI"


def zone_calendar(
    session: Session,
    zone: Zone,
    *,
    public_url: str = "http://localhost",
    tz: str = DEFAULT_TZ,
    now: datetime,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """The zone's approved airings and relays as an ``.ics`` file. Each event's category is
    its priority class (or "relay") named by ``labels`` (the web's, in the user's language),
    else the code in capitals."""
    names = labels or {}
    host = urlparse(public_url).hostname or "broadcaster"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", zone.name)
    cal.add("x-wr-timezone", tz)
    for item in _items(session, zone.id):
        for event in _item_events(item, host, tz, now, names):
            cal.add_component(event)
    for relay in _relays(session, zone.id):
        cal.add_component(_relay_event(relay, host, tz, now, names))
    if hasattr(cal, "add_missing_timezones"):  # icalendar >= 6 writes the VTIMEZONE itself
        cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _items(session: Session, zone_id: str) -> list[ScheduleItem]:
    query = (
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .join(announcement_zones, announcement_zones.c.announcement_id == Announcement.id)
        .where(Announcement.status == "approved", announcement_zones.c.zone_id == zone_id)
        .options(
            selectinload(ScheduleItem.announcement).selectinload(Announcement.media),
            selectinload(ScheduleItem.announcement).selectinload(Announcement.zones),
            selectinload(ScheduleItem.slot),
            selectinload(ScheduleItem.cancellations),
        )
        .order_by(ScheduleItem.start_at, ScheduleItem.id)
    )
    return list(session.scalars(query))


def _relays(session: Session, zone_id: str) -> list[Relay]:
    relays = session.scalars(
        select(Relay).where(Relay.active.is_(True)).options(selectinload(Relay.zones))
    )
    return [r for r in relays if any(z.id == zone_id for z in r.zones)]


def _duration(ann: Announcement) -> timedelta:
    if ann.media is not None:
        return timedelta(milliseconds=max(ann.media.duration_ms, 1000))
    return timedelta(milliseconds=len(ann.body) * MS_PER_CHAR_ESTIMATE)


def _category(names: Mapping[str, str], code: str) -> str:
    return names.get(code) or code.upper()


def _base_event(
    ann: Announcement, uid: str, start: datetime, tz: str, names: Mapping[str, str]
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("summary", ann.title)
    event.add("description", ann.body)
    event.add("dtstamp", ann.decided_at or ann.created_at)
    start_local = to_local(start, tz).replace(tzinfo=ZoneInfo(tz))
    event.add("dtstart", start_local)
    event.add("dtend", start_local + _duration(ann))
    event.add("categories", [_category(names, ann.priority)])
    if ann.priority == "emergency":
        event.add("priority", 1)
    elif ann.priority == "priority":
        event.add("priority", 5)
    return event


def _item_events(
    item: ScheduleItem, host: str, tz: str, now: datetime, names: Mapping[str, str]
) -> list[Event]:
    ann = item.announcement
    if item.slot_id is None and not (item.rrule and item.valid_until is not None):
        event = _base_event(ann, f"s{item.id}@{host}", item.start_at, tz, names)
        if item.rrule:
            event.add("rrule", vRecur.from_ical(item.rrule.removeprefix("RRULE:")))
        return [event]
    # Slot placement or a validity end: the real airings over the export window.
    return [
        _base_event(ann, f"{a.item_id}@{host}", a.start, tz, names)
        for a in item_airings(item, now - PAST, now + AHEAD, tz)
    ]


def _relay_event(
    relay: Relay, host: str, tz: str, now: datetime, names: Mapping[str, str]
) -> Event:
    event = Event()
    event.add("uid", f"relay-{relay.id}@{host}")
    event.add("summary", relay.name)
    event.add("description", relay.stream_url)
    event.add("dtstamp", now)
    first = to_local(now - PAST, tz).date()
    days = relay.weekdays or WEEKDAYS
    while WEEKDAYS[first.weekday()] not in days:  # DTSTART must be the first instance
        first += timedelta(days=1)
    start = datetime.combine(first, relay.start, tzinfo=ZoneInfo(tz))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(seconds=relay.duration_s))
    rule: dict[str, object] = {"freq": "weekly", "byday": list(days)}
    event.add("rrule", rule)
    event.add("categories", [_category(names, "relay")])
    return event
