"""Programme files (YAML): a commune's zones, sites (with their map coordinates), slots, relays,
campaigns, recurring items and, for demos and tests, users. The one file format for a commune's
set-up: ``broadcaster programme import`` reads it and the demo loads ``demo_programme.yaml``.

``load`` validates and reports errors as ``FILE:LINE: what is wrong`` (from YAML node marks).
Applying a programme (``apply``, with a dry run) lives in schedules.programme_import and
exporting (``export``) in schedules.programme_export.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from broadcaster.models import CAMPAIGN_CATEGORIES, COMMUNE_KINDS, UNIT_KINDS, WEEKDAYS
from broadcaster.roles import ROLES
from broadcaster.wire.plan import PRIORITIES
from broadcaster.wire.topics import valid_id
from schedules.recurrence import DEFAULT_TZ, Recurrence, RecurrenceError

logger = logging.getLogger(__name__)

# The demo commune: three hamlets, three speaker sites on the map, one user per role.
DEMO_PROGRAMME = Path(__file__).with_name("demo_programme.yaml")


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


# The keys a user entry may have (any other is an error, not silently dropped).
USER_KEYS = frozenset({"username", "password", "role", "unit", "display_name"})


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a number", list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


@dataclass
class Programme:
    """A validated programme file, as plain values."""

    commune: str
    timezone: str
    zones: list[dict[str, Any]]  # each with its "unit" code, or "" for the file's ``commune``
    sites: list[dict[str, Any]]
    slots: list[dict[str, Any]]
    relays: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    items: list[dict[str, Any]]
    users: list[dict[str, str]] = field(default_factory=list)
    # The administrative units (issue 11), parents before children: code, kind, name, parent.
    units: list[dict[str, str]] = field(default_factory=list)


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
        "units",
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
    units = _units(c, data)
    kinds = {u["code"]: u["kind"] for u in units}
    zones = []
    for z in _entries(c, data, "zones"):
        zid = c.get(z, "id", str, "zone")
        if zid is not None and not valid_id(zid):
            c.err(z, "id", f"zone: bad id {zid!r} (letters, digits, - and _)")
        unit = str(z.get("unit", ""))
        if unit and kinds.get(unit) not in COMMUNE_KINDS:
            c.err(z, "unit", f"zone {zid}: unit {unit!r} is not a commune, ward or special zone")
        elif not unit and units and not data.get("commune"):
            c.err(z, None, f"zone {zid}: missing 'unit' (the code of its commune)")
        zones.append(
            {
                "id": zid,
                "name": str(z.get("name", zid)),
                "language": str(z.get("language", "vi")),
                "unit": unit,
            }
        )
    known = {z["id"] for z in zones if z["id"]}
    zone_unit = {z["id"]: z["unit"] for z in zones}
    sites = []
    for s in _entries(c, data, "sites"):
        sid = c.get(s, "id", str, "site")
        if sid is not None and not valid_id(sid):
            c.err(s, "id", f"site: bad id {sid!r}")
        latitude, longitude = _coordinates(c, s, f"site {sid}")
        if len({zone_unit.get(z) for z in s.get("zones", []) if z in zone_unit}) > 1:
            c.err(s, "zones", f"site {sid}: its zones are in different communes")
        sites.append(
            {
                "id": sid,
                "name": str(s.get("name", sid)),
                "output": str(s.get("output", "amplifier")),
                "zones": c.zones(s, known, f"site {sid}"),
                "latitude": latitude,
                "longitude": longitude,
            }
        )
    users = []
    for u in _entries(c, data, "users"):
        username = c.get(u, "username", str, "user")
        password = c.get(u, "password", str, f"user {username}")
        role = c.get(u, "role", str, f"user {username}")
        if role is not None and role not in ROLES:
            c.err(u, "role", f"user {username}: role {role!r}; use {', '.join(ROLES)}")
        unit = str(u.get("unit", ""))
        if unit and unit not in kinds:
            c.err(u, "unit", f"user {username}: unknown unit {unit!r}")
        for key in sorted(set(u) - USER_KEYS, key=str):
            # e.g. an unquoted display name with a comma in a {…} entry: YAML splits it there
            c.err(u, str(key), f"user {username}: unknown key {key!r}; quote a value with a comma")
        users.append(
            {
                "unit": unit,
                "username": username,
                "password": password,
                "role": role,
                "display_name": str(u.get("display_name", "")),
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
        starts_at: object = it.get("start")  # the slots' `start` is a time of day
        if isinstance(starts_at, str):
            try:
                starts_at = datetime.fromisoformat(starts_at)
            except ValueError:
                starts_at = None
        if isinstance(starts_at, datetime):
            starts_at = starts_at.replace(tzinfo=None)
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
                "start": starts_at,
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
        str(data.get("commune", "")),
        tz,
        zones,
        sites,
        slots,
        relays,
        campaigns,
        items,
        users,
        units,
    )


def _units(c: _Checker, data: _Map) -> list[dict[str, str]]:
    """The ``units`` section: each unit's parent must come before it."""
    units: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for u in _entries(c, data, "units"):
        code = c.get(u, "code", (str, int), "unit")
        code = str(code) if code is not None else ""
        kind = str(u.get("kind", "commune"))
        parent = str(u["parent"]) if u.get("parent") is not None else ""
        if kind not in UNIT_KINDS:
            c.err(u, "kind", f"unit {code}: kind {kind!r}; use {', '.join(UNIT_KINDS)}")
        if code in seen:
            c.err(u, "code", f"unit {code}: listed twice")
        if parent and parent not in seen:
            c.err(u, "parent", f"unit {code}: parent {parent!r} is not listed before it")
        elif parent and seen[parent] in COMMUNE_KINDS:
            c.err(u, "parent", f"unit {code}: a {seen[parent]} has no units below it")
        seen[code] = kind
        units.append(
            {"code": code, "kind": kind, "name": str(u.get("name", code)), "parent": parent}
        )
    return units


def _coordinates(c: _Checker, s: _Map, what: str) -> tuple[float | None, float | None]:
    """A site's latitude and longitude (for the health map): both or neither."""
    lat, lon = s.get("latitude"), s.get("longitude")
    if lat is None and lon is None:
        return None, None
    if (
        not isinstance(lat, int | float)
        or not isinstance(lon, int | float)
        or isinstance(lat, bool)
        or isinstance(lon, bool)
    ):
        key = "latitude" if "latitude" in s else "longitude"
        c.err(s, key, f"{what}: latitude and longitude must both be numbers")
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        c.err(s, "latitude", f"{what}: coordinates out of range")
        return None, None
    return float(lat), float(lon)


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
