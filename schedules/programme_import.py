"""Applying a validated programme to the database, or a dry run that only lists the changes.

Items are imported as drafts by a given author: they still need an approver, so a file can
never put anything on air by itself. The file's users are created only when asked (demos and
tests; production accounts come from ``broadcaster users add``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.renderer import Renderer
from broadcaster.accounts import AccountError, create_user
from broadcaster.models import (
    ROOT_DEFAULT,
    Announcement,
    Campaign,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    Unit,
    User,
    Zone,
    default_commune,
)
from broadcaster.roles import EDIT_ROLES
from broadcaster.units import UnitError, add_unit, by_code, commune_named
from schedules.programme_file import DEMO_PROGRAMME, Programme, load
from schedules.recurrence import to_utc
from schedules.relays import give_fallbacks


class ProgrammeImportError(ValueError):
    """The programme cannot be applied as it is (no author for its items, a user refused)."""


def apply(
    session: Session,
    prog: Programme,
    author: User | None = None,
    *,
    with_users: bool = False,
    dry_run: bool = False,
    render: Renderer | None = None,
) -> list[str]:
    """Bring the database to ``prog``; returns one line per change (made or, in a dry run, not).

    ``with_users`` first creates the file's users that do not exist yet. Items belong to
    ``author``, by default the first admin (else editor). With ``render``, relays without a
    fallback get one (schedules.relays); a dry run renders nothing, and without it the scheduler
    gives them one at its next start.
    """
    changes: list[str] = []
    with session.begin_nested() as nested:
        _add_units(session, prog, changes)
        if with_users:
            _add_users(session, prog, changes)
        if prog.items and author is None:
            author = default_author(session)
            if author is None:
                raise ProgrammeImportError("no author for the items: create an admin first")
        relays = _apply(session, prog, author, changes)
        session.flush()
        if dry_run:
            nested.rollback()
        elif render is not None:
            give_fallbacks(session, relays, render)
    return changes


def import_demo(session: Session) -> list[str]:
    """The demo commune (``schedules/demo_programme.yaml``) with its users: for the demo and
    tests."""
    return apply(session, load(DEMO_PROGRAMME), with_users=True)


def default_author(session: Session) -> User | None:
    """Who owns imported items when nobody is named: the first admin, else the first editor."""
    query = select(User).where(User.role.in_(EDIT_ROLES)).order_by(User.role, User.id)
    return session.scalars(query).first()


def _add_units(session: Session, prog: Programme, changes: list[str]) -> None:
    """The file's units that do not exist yet (by code); existing ones keep their place."""
    for u in prog.units:
        unit = session.scalar(select(Unit).where(Unit.code == u["code"]))
        if unit is not None:
            if unit.name != u["name"]:
                changes.append(f"~ unit {u['code']}: {unit.name!r} → {u['name']!r}")
                unit.name = u["name"]
            continue
        parent = by_code(session, u["parent"]) if u["parent"] else None
        placeholder = _placeholder_root(session) if parent is None else None
        if placeholder is not None:  # made for users added before any unit: the file names it
            changes.append(f"~ unit {placeholder.code} → {u['code']} {u['kind']} {u['name']}")
            placeholder.code, placeholder.kind, placeholder.name = u["code"], u["kind"], u["name"]
            continue
        try:
            add_unit(session, u["kind"], u["code"], u["name"], parent)
        except UnitError as exc:
            raise ProgrammeImportError(str(exc)) from None
        changes.append(f"+ unit {u['code']} {u['kind']} {u['name']}")
    session.flush()


def _placeholder_root(session: Session) -> Unit | None:
    """The top unit made by default (``models.ROOT_DEFAULT``) when it is the only top unit."""
    tops = session.scalars(select(Unit).where(Unit.parent_id.is_(None)).limit(2)).all()
    if len(tops) == 1 and (tops[0].code, tops[0].name) == (
        ROOT_DEFAULT["code"],
        ROOT_DEFAULT["name"],
    ):
        return tops[0]
    return None


def _add_users(session: Session, prog: Programme, changes: list[str]) -> None:
    for u in prog.users:
        if session.scalar(select(User).where(User.username == u["username"])) is not None:
            continue
        try:
            unit = by_code(session, u["unit"]) if u.get("unit") else None
            create_user(session, u["username"], u["password"], u["role"], u["display_name"], unit)
        except (AccountError, UnitError) as exc:
            raise ProgrammeImportError(str(exc)) from None
        changes.append(f"+ user {u['username']} ({u['role']})")
    session.flush()


def _apply(
    session: Session, prog: Programme, author: User | None, changes: list[str]
) -> list[Relay]:
    zones: dict[str, Zone] = {}
    communes: dict[str, Unit] = {}

    def commune_of(code: str) -> Unit:
        if code not in communes:
            if code:
                communes[code] = by_code(session, code)
            elif prog.commune:
                communes[code] = commune_named(session, prog.commune)
            else:
                communes[code] = default_commune(session, "the programme's zones")
        return communes[code]

    for z in prog.zones:
        zone = session.get(Zone, z["id"])
        if zone is None:
            zone = Zone(id=z["id"])
            changes.append(f"+ zone {z['id']} ({z['name']})")
        elif (zone.name, zone.language) != (z["name"], z["language"]):
            changes.append(f"~ zone {z['id']}: {zone.name!r} → {z['name']!r}")
        zone.name, zone.language, zone.unit = z["name"], z["language"], commune_of(z["unit"])
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
        elif (site.latitude, site.longitude) != (s["latitude"], s["longitude"]):
            changes.append(f"~ site {s['id']}: map position")
        site.name, site.output = s["name"], s["output"]
        site.latitude, site.longitude = s["latitude"], s["longitude"]
        site.zones = _zones(session, zones, new_zones)
        site.unit = site.zones[0].unit if site.zones else commune_of("")
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
        relay.zones = _zones(session, zones, r["zones"])
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
        camp.zones = _zones(session, zones, k["zones"])
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
        assert author is not None  # apply() found one, as the programme has items
        ann = Announcement(
            title=it["title"],
            body=it["body"],
            category=it["category"],
            priority=it["priority"],
            status="draft",
            author_id=author.id,
            zones=_zones(session, zones, it["zones"]),
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


def _zones(session: Session, known: dict[str, Zone], ids: Iterable[str]) -> list[Zone]:
    """The zones named ``ids``: made by this import or already in the database (the file's
    validation checked that each exists)."""
    found = []
    for zone_id in ids:
        zone = known.get(zone_id) or session.get(Zone, zone_id)
        if zone is None:
            raise ProgrammeImportError(f"unknown zone {zone_id!r}")
        found.append(zone)
    return found
