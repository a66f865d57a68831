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
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    BulletinDelivery,
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


@dataclass(frozen=True)
class MergePlan:
    """What a merge would move to ``into``: shown before an administrator confirms it."""

    sources: tuple[Unit, ...]
    into: Unit
    zones: list[str]  # names
    sites: list[str]
    users: list[str]  # usernames
    announcements: int  # the programme: every announcement owned by A or B
    open_announcements: list[str]  # titles of those still in the workflow (draft, submitted)
    campaigns: list[str]
    planned_airings: int  # airings planned after now, not yet reported


OPEN_STATES = ("draft", "submitted")


def plan_merge(session: Session, sources: list[Unit], into: Unit, now: datetime) -> MergePlan:
    """What ``merge_units`` would move, checked the same way; nothing is changed."""
    check_merge(sources, into)
    ids = [u.id for u in sources]

    def names(column: Any, unit_column: Any) -> list[str]:
        return list(session.scalars(select(column).where(unit_column.in_(ids)).order_by(column)))

    return MergePlan(
        sources=tuple(sources),
        into=into,
        zones=names(Zone.name, Zone.unit_id),
        sites=names(Site.name, Site.unit_id),
        users=names(User.username, User.unit_id),
        announcements=session.scalar(select(func.count()).where(Announcement.unit_id.in_(ids)))
        or 0,
        open_announcements=list(
            session.scalars(
                select(Announcement.title)
                .where(Announcement.unit_id.in_(ids), Announcement.status.in_(OPEN_STATES))
                .order_by(Announcement.id)
            )
        ),
        campaigns=names(Campaign.name, Campaign.unit_id),
        planned_airings=session.scalar(select(func.count()).where(_planned(ids, now))) or 0,
    )


def _planned(ids: list[int], now: datetime) -> ColumnElement[bool]:
    """Airings of ``ids`` not yet reported and still to come: they move with the merge."""
    return and_(
        Playback.unit_id.in_(ids), Playback.status == "scheduled", Playback.scheduled_at > now
    )


def check_merge(sources: list[Unit], into: Unit) -> None:
    """Refuse a merge that cannot be done (UnitError, with the codes)."""
    if not sources:
        raise UnitError("name at least one unit to merge")
    for unit in (*sources, into):
        if not unit.holds_zones:
            raise UnitError(f"unit {unit.code} is a {unit.kind}; only communes and wards merge")
        if unit.merged_into_id is not None:
            raise UnitError(f"unit {unit.code} was merged already")
    if into in sources or len({u.id for u in sources}) != len(sources):
        raise UnitError(f"unit {into.code} cannot merge into itself; name each unit once")


def merge_units(
    session: Session, sources: list[Unit], into: Unit, now: datetime, by: str | None = None
) -> Merged:
    """Merge ``sources`` into ``into`` (all commune-level, none merged before); flushed.
    ``by``: the username of who asked (the web), recorded on each merged unit."""
    check_merge(sources, into)
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
        update(Playback).where(_planned(ids, now)).values(unit_id=into.id),
        execution_options={"synchronize_session": False},
    )
    moved["playbacks"] = result.rowcount  # type: ignore[attr-defined]
    moved["bulletin_deliveries"] = _move_open_deliveries(session, ids, into.id)
    for unit in sources:
        unit.merged_into = into
        unit.merged_at = now
        unit.merged_by = by
        unit.parent = into  # its history stays inside the merged commune's subtree
    session.flush()
    logger.warning(
        "units %s merged into %s by %s: %s",
        ", ".join(u.code for u in sources),
        into.code,
        by or "the command line",
        ", ".join(f"{k} {v}" for k, v in moved.items()),
    )
    return Merged(into.code, tuple(u.code for u in sources), moved)


# A bulletin the commune can still act on: not yet approved, in its inbox, or placed in a slot
# (its staff may still reorder it). Decided ones keep the unit that decided them.
OPEN_DELIVERIES = ("pending", "inbox", "placed")


def _move_open_deliveries(session: Session, ids: list[int], into_id: int) -> int:
    """Open bulletins move to the merged commune, once per bulletin: a second undecided copy
    of a bulletin the merged commune already has is dropped."""
    rows = session.scalars(
        select(BulletinDelivery)
        .where(BulletinDelivery.unit_id.in_([*ids, into_id]))
        .order_by(BulletinDelivery.id)
    ).all()
    have = {d.bulletin_id for d in rows if d.unit_id == into_id}
    moved = 0
    for d in rows:
        if d.unit_id == into_id or d.state not in OPEN_DELIVERIES:
            continue
        if d.bulletin_id in have:
            if d.state != "placed":  # a placed copy has its airing: keep it where it is
                session.delete(d)
            continue
        d.unit_id = into_id
        have.add(d.bulletin_id)
        moved += 1
    return moved
