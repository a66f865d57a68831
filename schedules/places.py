"""Zones (thôn, ấp, bản) and speaker sites, written from the web (issue 13): each belongs to
one commune in the writer's scope; a site's zones are in its own commune; coordinates are in
range. The CLI and programme files keep their own paths (``programme_import``, provisioning's
``site_records``); the planner sees every change through its ``plan_marks`` triggers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import COMMUNE_KINDS, RECORDING_LANGUAGES, Site, Unit, Zone
from broadcaster.scope import Scope
from broadcaster.wire.topics import valid_id

SITE_OUTPUTS = ("amplifier", "fm-transmitter")


class PlaceError(ValueError):
    """A zone or site cannot be saved as asked; ``code`` names why for the web's words."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _commune(session: Session, scope: Scope, unit_id: int) -> Unit:
    unit = scope.get(session, Unit, unit_id)
    if unit is None or unit.kind not in COMMUNE_KINDS or unit.merged_into_id is not None:
        raise PlaceError(f"unit {unit_id} is not a commune of yours", "not-commune")
    return unit


def save_zone(
    session: Session,
    scope: Scope,
    *,
    zone_id: str,
    name: str,
    language: str,
    unit_id: int,
    existing: Zone | None = None,
) -> Zone:
    """Create zone ``zone_id`` (or change ``existing``): its name, language and commune."""
    if language not in RECORDING_LANGUAGES:
        raise PlaceError(f"language {language!r} is unknown", "language")
    unit = _commune(session, scope, unit_id)
    if existing is None:
        if not valid_id(zone_id):
            raise PlaceError(f"zone id {zone_id!r} is not a lowercase slug", "bad-id")
        if session.get(Zone, zone_id) is not None:
            raise PlaceError(f"zone {zone_id!r} exists already", "taken")
        existing = Zone(id=zone_id)
        session.add(existing)
    elif existing.sites and existing.unit_id != unit.id:
        raise PlaceError(f"zone {existing.id!r} has sites: move them first", "zone-has-sites")
    existing.name, existing.language, existing.unit = name.strip(), language, unit
    session.flush()
    return existing


def save_site(
    session: Session,
    scope: Scope,
    *,
    site_id: str,
    name: str,
    unit_id: int,
    zone_ids: Sequence[str],
    output: str,
    latitude: float | None,
    longitude: float | None,
    existing: Site | None = None,
) -> Site:
    """Create site ``site_id`` (or change ``existing``): name, commune, zones, output, place."""
    unit = _commune(session, scope, unit_id)
    if output not in SITE_OUTPUTS:
        raise PlaceError(f"output {output!r} is unknown", "output")
    if (latitude is None) != (longitude is None):
        raise PlaceError("give both coordinates or neither", "coordinates")
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # type: ignore[operator]
        raise PlaceError("coordinates out of range", "coordinates")
    zones = list(session.scalars(select(Zone).where(Zone.id.in_(zone_ids), scope.zones())))
    if len(zones) != len(set(zone_ids)) or any(z.unit_id != unit.id for z in zones):
        raise PlaceError("a site's zones are zones of its own commune", "zones")
    if existing is None:
        if not valid_id(site_id):
            raise PlaceError(f"site id {site_id!r} is not a lowercase slug", "bad-id")
        if session.get(Site, site_id) is not None:
            raise PlaceError(f"site {site_id!r} exists already", "taken")
        existing = Site(id=site_id)
        session.add(existing)
    existing.name, existing.unit, existing.output = name.strip(), unit, output
    existing.latitude, existing.longitude = latitude, longitude
    existing.zones = sorted(zones, key=lambda z: z.id)
    session.flush()
    return existing
