"""Merging communes: ``broadcaster units merge A B --into C`` (issue 11).

Zones, sites, users, announcements and campaigns of A and B move to C, and so do the airings
planned after the merge. Airings already reported keep the unit they aired under: A and B stay
as units, marked ``merged_into`` C and hung below it, so C's staff and every report over C's
subtree still count them, and a report spanning the merge adds up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    Site,
    Unit,
    User,
    Zone,
)
from broadcaster.units import UnitError

logger = logging.getLogger(__name__)

MOVED = (Zone, Site, User, Announcement, Campaign)


@dataclass(frozen=True)
class Merged:
    """How many rows moved to the surviving unit, by table."""

    into: str
    sources: tuple[str, ...]
    moved: dict[str, int]


def merge_units(session: Session, sources: list[Unit], into: Unit, now: datetime) -> Merged:
    """Merge ``sources`` into ``into`` (all commune-level, none merged before); flushed."""
    if not sources:
        raise UnitError("name at least one unit to merge")
    for unit in (*sources, into):
        if not unit.holds_zones:
            raise UnitError(f"unit {unit.code} is a {unit.kind}; only communes and wards merge")
        if unit.merged_into_id is not None:
            raise UnitError(f"unit {unit.code} was merged already")
    if into in sources or len({u.id for u in sources}) != len(sources):
        raise UnitError(f"unit {into.code} cannot merge into itself; name each unit once")
    ids = [u.id for u in sources]
    moved: dict[str, int] = {}
    for model in MOVED:
        result = session.execute(
            update(model).where(model.unit_id.in_(ids)).values(unit_id=into.id),
            execution_options={"synchronize_session": "fetch"},
        )
        moved[model.__tablename__] = result.rowcount  # type: ignore[attr-defined]
    # Airings not yet reported will air under the merged unit; reported ones keep theirs.
    result = session.execute(
        update(Playback)
        .where(
            Playback.unit_id.in_(ids),
            Playback.status == "scheduled",
            Playback.scheduled_at > now,
        )
        .values(unit_id=into.id),
        execution_options={"synchronize_session": False},
    )
    moved["playbacks"] = result.rowcount  # type: ignore[attr-defined]
    for unit in sources:
        unit.merged_into = into
        unit.merged_at = now
        unit.parent = into  # its history stays inside the merged commune's subtree
    session.flush()
    logger.warning(
        "units %s merged into %s: %s",
        ", ".join(u.code for u in sources),
        into.code,
        ", ".join(f"{k} {v}" for k, v in moved.items()),
    )
    return Merged(into.code, tuple(u.code for u in sources), moved)
