"""Load a commune's set-up (zones, sites, optional users) from YAML into the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from broadcaster.accounts import create_user
from broadcaster.models import Site, User, Zone
from broadcaster.wire.topics import valid_id

DEMO_COMMUNE = Path(__file__).with_name("demo_commune.yaml")


class CommuneFileError(ValueError):
    """The commune file is not valid; the message names the file and the entry."""


@dataclass(frozen=True)
class CommuneSummary:
    zones: int
    sites: int
    users: int


def load_commune(
    session: Session, path: Path = DEMO_COMMUNE, with_users: bool = True
) -> CommuneSummary:
    """Insert or update zones and sites (and users when asked) from ``path``."""
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CommuneFileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise CommuneFileError(f"{path}: expected a mapping at the top")
    commune = str(data.get("commune", ""))
    zones: dict[str, Zone] = {}
    for i, z in enumerate(data.get("zones") or []):
        zid = str(z.get("id", ""))
        if not valid_id(zid):
            raise CommuneFileError(f"{path}: zones[{i}]: bad id {zid!r}")
        zone = session.get(Zone, zid) or Zone(id=zid)
        zone.name = str(z.get("name", zid))
        zone.commune = commune
        zone.language = str(z.get("language", "vi"))
        session.add(zone)
        zones[zid] = zone
    n_sites = 0
    for i, s in enumerate(data.get("sites") or []):
        sid = str(s.get("id", ""))
        if not valid_id(sid):
            raise CommuneFileError(f"{path}: sites[{i}]: bad id {sid!r}")
        unknown = [z for z in s.get("zones", []) if z not in zones]
        if unknown:
            raise CommuneFileError(f"{path}: sites[{i}] ({sid}): unknown zones {unknown}")
        site = session.get(Site, sid) or Site(id=sid)
        site.name = str(s.get("name", sid))
        site.output = str(s.get("output", "amplifier"))
        site.latitude, site.longitude = _coordinates(path, i, s)
        site.zones = [zones[z] for z in s.get("zones", [])]
        session.add(site)
        n_sites += 1
    n_users = 0
    if with_users:
        for u in data.get("users") or []:
            if session.query(User).filter_by(username=u["username"]).first():
                continue
            create_user(session, u["username"], u["password"], u["role"], u.get("display_name", ""))
            n_users += 1
    session.flush()
    return CommuneSummary(zones=len(zones), sites=n_sites, users=n_users)


def _coordinates(path: Path, i: int, s: dict[str, Any]) -> tuple[float | None, float | None]:
    lat, lon = s.get("latitude"), s.get("longitude")
    if lat is None and lon is None:
        return None, None
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise CommuneFileError(
            f"{path}: sites[{i}]: latitude and longitude must both be numbers"
        ) from None
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise CommuneFileError(f"{path}: sites[{i}]: coordinates out of range")
    return lat_f, lon_f


def demo_logins(path: Path = DEMO_COMMUNE) -> list[dict[str, str]]:
    """The demo accounts listed in the commune file (for the demo banner)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        {k: str(u[k]) for k in ("username", "password", "role", "display_name") if k in u}
        for u in data.get("users") or []
    ]
