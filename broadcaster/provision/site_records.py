"""The sites of a sites file in the database: added or updated (name, commune, zones), in the
caller's transaction. Every problem found names the file's line; none is written then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import COMMUNE_KINDS, Site, Unit, Zone, site_zones

from .sites_csv import SiteRow, SitesFileError


@dataclass
class Registered:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    zones_created: list[str] = field(default_factory=list)


def register_sites(
    session: Session, rows: Sequence[SiteRow], *, create_zones: bool = False, source: str = ""
) -> Registered:
    """Add or update ``rows``' sites. A zone must exist in the site's commune, unless
    ``create_zones`` (then it is made there, named by its id). ``SitesFileError`` lists every
    row that cannot be stored."""
    codes = {r.unit for r in rows}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    zone_ids = {z for r in rows for z in r.zones}
    zones = {z.id: z for z in session.scalars(select(Zone).where(Zone.id.in_(zone_ids)))}
    errors: list[str] = []
    new_zones: dict[str, tuple[int, int]] = {}  # zone id → (unit id, first line)
    for r in rows:
        unit = units.get(r.unit)
        if unit is None:
            errors.append(
                f"line {r.line}: no unit with code {r.unit!r} (see `broadcaster units list`)"
            )
            continue
        if unit.kind not in COMMUNE_KINDS or unit.merged_into_id is not None:
            why = "merged into another" if unit.merged_into_id is not None else f"a {unit.kind}"
            errors.append(f"line {r.line}: unit {r.unit} is {why}; a site belongs to a commune")
            continue
        for z in r.zones:
            zone = zones.get(z)
            if zone is not None:
                if zone.unit_id != unit.id:
                    errors.append(
                        f"line {r.line}: zone {z} belongs to another commune than {r.unit}"
                    )
            elif not create_zones:
                errors.append(
                    f"line {r.line}: no zone {z!r} (add it first, or run with --create-zones)"
                )
            elif new_zones.setdefault(z, (unit.id, r.line))[0] != unit.id:
                errors.append(
                    f"line {r.line}: zone {z} is made in another commune on line {new_zones[z][1]}"
                )
    if errors:
        raise SitesFileError(source, errors)
    for z, (unit_id, _) in new_zones.items():
        zones[z] = Zone(id=z, name=z, unit_id=unit_id)
        session.add(zones[z])
    done = Registered(zones_created=sorted(new_zones))
    ids = [r.site for r in rows]
    existing = {
        s.id: s
        for s in session.scalars(
            select(Site).where(Site.id.in_(ids)).options(selectinload(Site.zones))
        )
    }
    session.flush()  # the new zones, before the new sites' links name them
    added = [r for r in rows if r.site not in existing]
    if added:
        # Bulk INSERTs (the model's defaults apply): building 5,000 Site objects with their
        # zone collections costs seconds.
        session.execute(
            insert(Site),
            [{"id": r.site, "name": r.name, "unit_id": units[r.unit].id} for r in added],
        )
        links = [{"site_id": r.site, "zone_id": z} for r in added for z in sorted(set(r.zones))]
        if links:
            session.execute(insert(site_zones), links)
        done.added = len(added)
    for r in rows:
        site = existing.get(r.site)
        if site is None:
            continue
        unit = units[r.unit]
        site_zones_now = [zones[z] for z in sorted(set(r.zones))]
        before = (site.name, site.unit_id, sorted(z.id for z in site.zones))
        if before == (r.name, unit.id, [z.id for z in site_zones_now]):
            done.unchanged += 1
            continue
        site.name, site.unit_id, site.zones = r.name, unit.id, site_zones_now
        done.changed += 1
    session.flush()
    return done
