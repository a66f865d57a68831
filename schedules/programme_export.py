"""Export: the current zones, sites, slots, relays, campaigns and recurring items as a programme
file (users are not exported: the file would hold no passwords)."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    Campaign,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    Unit,
    Zone,
)
from schedules.recurrence import DEFAULT_TZ, to_local


def export(session: Session, tz: str = DEFAULT_TZ) -> str:
    """The current set-up as a programme file."""
    zones = list(session.scalars(select(Zone).order_by(Zone.id)))
    out: dict[str, Any] = {"timezone": tz, "units": _units(session)}
    out["zones"] = [
        {
            "id": z.id,
            "name": z.name,
            "unit": z.unit.code,
            **({"language": z.language} if z.language != "vi" else {}),
        }
        for z in zones
    ]
    out["sites"] = [
        {
            "id": s.id,
            "name": s.name,
            "zones": sorted(z.id for z in s.zones),
            "output": s.output,
            **(
                {"latitude": s.latitude, "longitude": s.longitude}
                if s.latitude is not None and s.longitude is not None
                else {}
            ),
        }
        for s in session.scalars(select(Site).order_by(Site.id))
    ]
    out["slots"] = [
        {
            "name": s.name,
            "start": f"{s.start:%H:%M}",
            "end": f"{s.end:%H:%M}",
            "days": list(s.weekdays),
        }
        for s in session.scalars(select(Slot).order_by(Slot.start))
    ]
    out["relays"] = [
        {
            "name": r.name,
            "stream": r.stream_url,
            "start": f"{r.start:%H:%M}",
            "duration_min": r.duration_s // 60,
            "days": list(r.weekdays),
            "zones": sorted(z.id for z in r.zones),
        }
        for r in session.scalars(select(Relay).order_by(Relay.start))
    ]
    out["campaigns"] = [
        {
            "name": k.name,
            "category": k.category,
            "from": k.starts_on,
            "to": k.ends_on,
            "per_week": k.target_per_week,
            "zones": sorted(z.id for z in k.zones),
        }
        for k in session.scalars(select(Campaign).order_by(Campaign.starts_on))
    ]
    items = []
    query = (
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .where(
            (ScheduleItem.rrule != "") | ScheduleItem.slot_id.is_not(None),
            Announcement.status != "cancelled",
        )
        .order_by(ScheduleItem.start_at)
    )
    for item in session.scalars(query):
        ann = item.announcement
        entry: dict[str, Any] = {
            "title": ann.title,
            "category": ann.category,
            "priority": ann.priority,
            "zones": sorted(z.id for z in ann.zones),
            "start": to_local(item.start_at, tz).strftime("%Y-%m-%d %H:%M"),
        }
        if item.rrule:
            entry["rrule"] = item.rrule
        if item.slot is not None:
            entry["slot"] = item.slot.name
        if ann.campaign is not None:
            entry["campaign"] = ann.campaign.name
        if item.valid_until is not None:
            entry["until"] = to_local(item.valid_until, tz).date()
        entry["body"] = ann.body
        items.append(entry)
    out["items"] = items
    return yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=100)


def _units(session: Session) -> list[dict[str, str]]:
    """Every unit that is not merged away, parents before children (top-down by depth)."""
    units = list(session.scalars(select(Unit).where(Unit.merged_into_id.is_(None))))
    by_id = {u.id: u for u in units}

    def depth(u: Unit) -> int:
        n, parent = 0, u.parent_id
        while parent is not None and parent in by_id and n < len(by_id):
            n, parent = n + 1, by_id[parent].parent_id
        return n

    return [
        {
            "code": u.code,
            "kind": u.kind,
            "name": u.name,
            **({"parent": u.parent.code} if u.parent is not None else {}),
        }
        for u in sorted(units, key=lambda u: (depth(u), u.code))
    ]
