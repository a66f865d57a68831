"""Programme files (YAML): a commune's zones, sites, slots, relays, campaigns and recurring items.

``load`` validates and reports errors as ``FILE:LINE: what is wrong`` (from YAML node marks);
``apply`` computes the changes and, unless it is a dry run, makes them; ``export`` writes the
current set-up back. Items are imported as drafts by a given author: they still need an
approver, so a file can never put anything on air by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import (
    CAMPAIGN_CATEGORIES,
    PRIORITIES,
    WEEKDAYS,
    Announcement,
    Campaign,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    User,
    Zone,
)
from broadcaster.wire.topics import valid_id
from schedules.recurrence import DEFAULT_TZ, Recurrence, RecurrenceError, to_local, to_utc
from schedules.relays import give_fallbacks
from schedules.workflow import Renderer

logger = logging.getLogger(__name__)


class ProgrammeFileError(ValueError):
    """One or more problems in a programme file; each line names file, line and problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Map(dict[str, Any]):
    """A mapping that remembers the line of itself and of each value."""

    line: int = 0
    lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:  # type: ignore[override]
        out = _Map(super().construct_mapping(node, deep=True))
        out.line = node.start_mark.line + 1
        out.lines = {
            str(k.value): v.start_mark.line + 1 for k, v in node.value if hasattr(k, "value")
        }
        return out


_Loader.add_constructor(
    "tag:yaml.org,2002:map",
    lambda loader, node: loader.construct_mapping(node),  # type: ignore[arg-type]
)


@dataclass
class _Checker:
    path: Path
    problems: list[str] = field(default_factory=list)

    def err(self, where: _Map | None, key: str | None, message: str) -> None:
        line = 0
        if isinstance(where, _Map):
            line = where.lines.get(key, where.line) if key else where.line
        self.problems.append(f"{self.path}:{line}: {message}")

    def get(self, d: _Map, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        if key not in d:
            self.err(d, None, f"{what}: missing {key!r}")
            return None
        value = d[key]
        if not isinstance(value, kind):
            self.err(d, key, f"{what}: {key!r} should be {_kind_name(kind)}, not {value!r}")
            return None
        return value

    def clock(self, d: _Map, key: str, what: str) -> time | None:
        raw = d.get(key)
        if isinstance(raw, int) and key in d:  # YAML 1.1 reads 06:00 unquoted as sexagesimal
            raw = f"{raw // 60:02d}:{raw % 60:02d}"
        try:
            return time.fromisoformat(str(raw))
        except ValueError:
            self.err(d, key, f'{what}: {key!r} should be a time like "06:00", not {raw!r}')
            return None

    def days(self, d: _Map, what: str) -> str:
        days = d.get("days", list(WEEKDAYS))
        bad = [x for x in days if x not in WEEKDAYS] if isinstance(days, list) else [days]
        if bad:
            self.err(d, "days", f"{what}: unknown days {bad}; use {', '.join(WEEKDAYS)}")
            return ",".join(WEEKDAYS)
        return ",".join(sorted(set(days), key=WEEKDAYS.index))

    def zones(self, d: _Map, known: set[str], what: str) -> list[str]:
        zs = d.get("zones", [])
        if zs == ["all"]:
            return sorted(known)
        if not isinstance(zs, list) or not zs:
            self.err(d, "zones", f"{what}: 'zones' should be a list of zone ids or [all]")
            return []
        unknown = [z for z in zs if z not in known]
        if unknown:
            self.err(d, "zones", f"{what}: unknown zones {unknown}")
        return [z for z in zs if z in known]


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a number", list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


@dataclass
class Programme:
    """A validated programme file, as plain values."""

    commune: str
    timezone: str
    zones: list[dict[str, Any]]
    sites: list[dict[str, Any]]
    slots: list[dict[str, Any]]
    relays: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    items: list[dict[str, Any]]


def load(path: Path) -> Programme:
    """Parse and validate ``path``; ProgrammeFileError lists every problem with its line."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe subclass
    except OSError as exc:
        raise ProgrammeFileError([f"{path}: {exc.strerror}"]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ProgrammeFileError([f"{path}:{line}: not valid YAML: {exc.problem}"]) from None
    c = _Checker(path)
    if not isinstance(data, _Map):
        raise ProgrammeFileError([f"{path}:1: expected a mapping with zones, sites, slots, …"])
    allowed = {
        "commune",
        "timezone",
        "zones",
        "sites",
        "users",
        "slots",
        "relays",
        "campaigns",
        "items",
    }
    for key in data:
        if key not in allowed:
            c.err(
                data, key, f"unknown section {key!r}; expected one of {', '.join(sorted(allowed))}"
            )
    tz = str(data.get("timezone", DEFAULT_TZ))
    zones = []
    for z in _entries(c, data, "zones"):
        zid = c.get(z, "id", str, "zone")
        if zid is not None and not valid_id(zid):
            c.err(z, "id", f"zone: bad id {zid!r} (letters, digits, - and _)")
        zones.append(
            {"id": zid, "name": str(z.get("name", zid)), "language": str(z.get("language", "vi"))}
        )
    known = {z["id"] for z in zones if z["id"]}
    sites = []
    for s in _entries(c, data, "sites"):
        sid = c.get(s, "id", str, "site")
        if sid is not None and not valid_id(sid):
            c.err(s, "id", f"site: bad id {sid!r}")
        sites.append(
            {
                "id": sid,
                "name": str(s.get("name", sid)),
                "output": str(s.get("output", "amplifier")),
                "zones": c.zones(s, known, f"site {sid}"),
            }
        )
    slots = []
    for s in _entries(c, data, "slots"):
        name = c.get(s, "name", str, "slot")
        start, end = c.clock(s, "start", f"slot {name}"), c.clock(s, "end", f"slot {name}")
        if start and end and end <= start:
            c.err(s, "end", f"slot {name}: end {end:%H:%M} is not after start {start:%H:%M}")
        slots.append({"name": name, "start": start, "end": end, "days": c.days(s, f"slot {name}")})
    slot_names = {s["name"] for s in slots}
    relays = []
    for r in _entries(c, data, "relays"):
        name = c.get(r, "name", str, "relay")
        url = c.get(r, "stream", str, f"relay {name}")
        if url and not url.startswith(("http://", "https://")):
            c.err(r, "stream", f"relay {name}: stream should be an http(s) URL")
        minutes = c.get(r, "duration_min", int, f"relay {name}")
        relays.append(
            {
                "name": name,
                "stream": url,
                "start": c.clock(r, "start", f"relay {name}"),
                "duration_s": (minutes or 0) * 60,
                "days": c.days(r, f"relay {name}"),
                "zones": c.zones(r, known, f"relay {name}"),
            }
        )
    campaigns = []
    for k in _entries(c, data, "campaigns"):
        name = c.get(k, "name", str, "campaign")
        cat = str(k.get("category", "khac"))
        if cat not in CAMPAIGN_CATEGORIES:
            c.err(
                k,
                "category",
                f"campaign {name}: category {cat!r}; use {', '.join(CAMPAIGN_CATEGORIES)}",
            )
        first, last = (
            c.get(k, "from", date, f"campaign {name}"),
            c.get(k, "to", date, f"campaign {name}"),
        )
        if first and last and last < first:
            c.err(k, "to", f"campaign {name}: ends before it starts")
        campaigns.append(
            {
                "name": name,
                "category": cat,
                "from": first,
                "to": last,
                "per_week": int(k.get("per_week", 0)),
                "zones": c.zones(k, known, f"campaign {name}"),
                "description": str(k.get("description", "")),
            }
        )
    campaign_names = {k["name"] for k in campaigns}
    items = []
    for it in _entries(c, data, "items"):
        title = c.get(it, "title", str, "item")
        what = f"item {title!r}"
        start = it.get("start")
        if isinstance(start, str):
            try:
                start = datetime.fromisoformat(start)
            except ValueError:
                start = None
        if isinstance(start, datetime):
            start = start.replace(tzinfo=None)
        else:
            c.err(
                it,
                "start",
                f"{what}: 'start' should be a local date and time like 2026-12-01 17:00",
            )
        rule = ""
        if "repeat" in it:
            rule = _repeat(c, it, what)
        elif "rrule" in it:
            rule = str(it["rrule"])
        slot = it.get("slot")
        if slot is not None and slot not in slot_names:
            c.err(it, "slot", f"{what}: unknown slot {slot!r}")
        campaign = it.get("campaign")
        if campaign is not None and campaign not in campaign_names:
            c.err(it, "campaign", f"{what}: unknown campaign {campaign!r}")
        priority = str(it.get("priority", "normal"))
        if priority not in PRIORITIES:
            c.err(it, "priority", f"{what}: priority {priority!r}; use {', '.join(PRIORITIES)}")
        until = it.get("until")
        if until is not None and not isinstance(until, date):
            c.err(it, "until", f"{what}: 'until' should be a date like 2026-12-31")
        items.append(
            {
                "title": title,
                "body": str(it.get("body", "")).strip(),
                "category": str(it.get("category", "")),
                "priority": priority,
                "zones": c.zones(it, known, what),
                "start": start,
                "rrule": rule,
                "slot": slot,
                "campaign": campaign,
                "until": until,
            }
        )
        if not items[-1]["body"]:
            c.err(it, "title", f"{what}: 'body' (the text to speak) is missing")
    if c.problems:
        raise ProgrammeFileError(c.problems)
    return Programme(
        str(data.get("commune", "")), tz, zones, sites, slots, relays, campaigns, items
    )


def _entries(c: _Checker, data: _Map, section: str) -> list[_Map]:
    value = data.get(section) or []
    if not isinstance(value, list):
        c.err(data, section, f"{section!r} should be a list")
        return []
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, _Map):
            c.err(data, section, f"{section}[{i}] should be a mapping, not {entry!r}")
            continue
        out.append(entry)
    return out


def _repeat(c: _Checker, it: _Map, what: str) -> str:
    rep = it["repeat"]
    if not isinstance(rep, _Map):
        c.err(
            it,
            "repeat",
            f"{what}: 'repeat' should be a mapping (days, every_days, times, until, count)",
        )
        return ""
    try:
        times = tuple(time.fromisoformat(str(t)) for t in rep.get("times", []))
        rec = Recurrence(
            days=tuple(rep.get("days", ())),
            interval=int(rep.get("every_days", 1)),
            times=times,
            until=rep.get("until"),
            count=rep.get("count"),
        )
    except (RecurrenceError, ValueError, TypeError) as exc:
        c.err(it, "repeat", f"{what}: repeat: {exc}")
        return ""
    return rec.to_rrule()


def apply(
    session: Session,
    prog: Programme,
    author: User,
    *,
    dry_run: bool = False,
    render: Renderer | None = None,
) -> list[str]:
    """Bring the database to ``prog``; returns one line per change (made or, in a dry run, not).

    With ``render``, relays without a fallback get one (schedules.relays); a dry run renders
    nothing, and without it the scheduler gives them one at its next start.
    """
    changes: list[str] = []
    with session.begin_nested() as nested:
        relays = _apply(session, prog, author, changes)
        session.flush()
        if dry_run:
            nested.rollback()
        elif render is not None:
            give_fallbacks(session, relays, render)
    return changes


def _apply(session: Session, prog: Programme, author: User, changes: list[str]) -> list[Relay]:
    zones: dict[str, Zone] = {}
    for z in prog.zones:
        zone = session.get(Zone, z["id"])
        if zone is None:
            zone = Zone(id=z["id"])
            changes.append(f"+ zone {z['id']} ({z['name']})")
        elif (zone.name, zone.language) != (z["name"], z["language"]):
            changes.append(f"~ zone {z['id']}: {zone.name!r} → {z['name']!r}")
        zone.name, zone.language, zone.commune = z["name"], z["language"], prog.commune
        session.add(zone)
        zones[z["id"]] = zone
    for s in prog.sites:
        site = session.get(Site, s["id"])
        new_zones = sorted(s["zones"])
        if site is None:
            site = Site(id=s["id"])
            changes.append(f"+ site {s['id']} ({s['name']}) zones {', '.join(new_zones)}")
        elif sorted(z.id for z in site.zones) != new_zones or site.name != s["name"]:
            changes.append(
                f"~ site {s['id']}: zones {', '.join(sorted(z.id for z in site.zones))} → {', '.join(new_zones)}"
            )
        site.name, site.output = s["name"], s["output"]
        site.zones = [zones.get(z) or session.get(Zone, z) for z in new_zones]
        session.add(site)
    slots: dict[str, Slot] = {}
    for s in prog.slots:
        slot = session.scalar(select(Slot).where(Slot.name == s["name"]))
        shape = (s["start"], s["end"], s["days"])
        if slot is None:
            slot = Slot(name=s["name"])
            changes.append(f"+ slot {s['name']} {s['start']:%H:%M}–{s['end']:%H:%M} {s['days']}")
        elif (slot.start, slot.end, slot.days) != shape:
            changes.append(
                f"~ slot {s['name']}: {slot.start:%H:%M}–{slot.end:%H:%M} → {s['start']:%H:%M}–{s['end']:%H:%M}"
            )
        slot.start, slot.end, slot.days = shape
        session.add(slot)
        slots[s["name"]] = slot
    relays: list[Relay] = []
    for r in prog.relays:
        relay = session.scalar(select(Relay).where(Relay.name == r["name"]))
        if relay is None:
            relay = Relay(name=r["name"])
            changes.append(f"+ relay {r['name']} {r['start']:%H:%M} {r['duration_s'] // 60} min")
        elif (relay.start, relay.duration_s, relay.stream_url) != (
            r["start"],
            r["duration_s"],
            r["stream"],
        ):
            changes.append(f"~ relay {r['name']}")
        relay.stream_url, relay.start, relay.duration_s, relay.days = (
            r["stream"],
            r["start"],
            r["duration_s"],
            r["days"],
        )
        relay.zones = [zones.get(z) or session.get(Zone, z) for z in r["zones"]]
        session.add(relay)
        relays.append(relay)
    campaigns: dict[str, Campaign] = {}
    for k in prog.campaigns:
        camp = session.scalar(select(Campaign).where(Campaign.name == k["name"]))
        if camp is None:
            camp = Campaign(name=k["name"])
            changes.append(f"+ campaign {k['name']} {k['from']}–{k['to']}, {k['per_week']}×/week")
        camp.category, camp.starts_on, camp.ends_on = k["category"], k["from"], k["to"]
        camp.target_per_week, camp.description = k["per_week"], k["description"]
        camp.zones = [zones.get(z) or session.get(Zone, z) for z in k["zones"]]
        session.add(camp)
        campaigns[k["name"]] = camp
    session.flush()
    for it in prog.items:
        existing = session.scalar(
            select(Announcement).where(
                Announcement.title == it["title"], Announcement.status != "cancelled"
            )
        )
        if existing is not None:
            changes.append(
                f"= item {it['title']!r} exists (announcement {existing.id}); left as is"
            )
            continue
        ann = Announcement(
            title=it["title"],
            body=it["body"],
            category=it["category"],
            priority=it["priority"],
            status="draft",
            author_id=author.id,
            zones=[zones.get(z) or session.get(Zone, z) for z in it["zones"]],
            campaign=campaigns.get(it["campaign"]) if it["campaign"] else None,
        )
        until = it["until"]
        ann.schedule.append(
            ScheduleItem(
                start_at=to_utc(it["start"], prog.timezone),
                rrule=it["rrule"],
                slot=slots.get(it["slot"]) if it["slot"] else None,
                valid_until=to_utc(datetime.combine(until, time(23, 59, 59)), prog.timezone)
                if until
                else None,
            )
        )
        session.add(ann)
        changes.append(f"+ item {it['title']!r} (draft) {it['rrule'] or 'once'}")
    return relays


def export(session: Session, tz: str = DEFAULT_TZ) -> str:
    """The current set-up as a programme file."""
    zones = list(session.scalars(select(Zone).order_by(Zone.id)))
    commune = next((z.commune for z in zones if z.commune), "")
    out: dict[str, Any] = {"commune": commune, "timezone": tz}
    out["zones"] = [
        {"id": z.id, "name": z.name, **({"language": z.language} if z.language != "vi" else {})}
        for z in zones
    ]
    out["sites"] = [
        {"id": s.id, "name": s.name, "zones": sorted(z.id for z in s.zones), "output": s.output}
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
