"""The tree of administrative units: finding, adding, walking down it (issue 11).

Who sees what is decided in ``broadcaster.scope``; merging communes in ``broadcaster.merge``.
"""

from __future__ import annotations

from sqlalchemy import CTE, BindParameter, ScalarSelect, Select, select
from sqlalchemy.orm import Session

from broadcaster.models import COMMUNE_KINDS, UNIT_KINDS, Unit, default_root


class UnitError(ValueError):
    """A unit cannot be found, added or changed as asked."""


def subtree_ids(session: Session, unit_id: int) -> frozenset[int]:
    """The ids of ``unit_id`` and every unit below it (one recursive query, any depth)."""
    return frozenset(session.scalars(subtree_select(unit_id)))


def subtree_select(
    unit_id: int | BindParameter[int] | Select[int], name: str = "subtree"
) -> Select[int]:
    """A select of the ids of ``unit_id`` (or of every unit a select gives, or of the unit a
    parameter names) and everything below it (a recursive CTE called ``name``: two in one
    query need two names)."""
    tree = subtree_cte(unit_id, name)
    return select(tree.c.id)


def subtree_cte(
    unit_id: int | BindParameter[int] | Select[int] | ScalarSelect[int], name: str = "subtree"
) -> CTE:
    """The recursive CTE of ``subtree_select`` (its one column: ``id``); a scalar select names
    the one unit at its top."""
    seed = Unit.id.in_(unit_id) if isinstance(unit_id, Select) else Unit.id == unit_id
    tree = select(Unit.id).where(seed).cte(name, recursive=True)
    return tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))


def named_subtree(name: str) -> Select[int]:
    """The ids of the units called ``name`` and of everything below them (a report's or a
    log's "commune" filter: a merged commune's past airings count under its successor)."""
    return subtree_select(select(Unit.id).where(Unit.name == name))


def by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise UnitError(f"no unit with code {code!r}")
    return unit


def add_unit(session: Session, kind: str, code: str, name: str, parent: Unit | None = None) -> Unit:
    """A new unit under ``parent`` (None: a top unit)."""
    if kind not in UNIT_KINDS:
        raise UnitError(f"unit {code!r}: kind {kind!r}; one of {', '.join(UNIT_KINDS)}")
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise UnitError(f"unit {code!r} exists already")
    if parent is not None and parent.holds_zones:
        raise UnitError(f"unit {code!r}: a {parent.kind} ({parent.code}) has no units below it")
    unit = Unit(kind=kind, code=code, name=name, parent=parent)
    session.add(unit)
    session.flush()
    return unit


def commune_named(session: Session, name: str) -> Unit:
    """The commune-level unit called ``name``; made under the top unit when there is none
    (a programme file that names only its commune)."""
    found = session.scalars(
        select(Unit).where(Unit.name == name, Unit.kind.in_(COMMUNE_KINDS)).limit(2)
    ).all()
    if len(found) > 1:
        raise UnitError(f"several communes are called {name!r}: name them by code")
    if found:
        return found[0]
    code, n = "xa", 1
    while session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        n += 1
        code = f"xa-{n}"
    return add_unit(session, "commune", code, name, default_root(session))


def ancestors(unit: Unit) -> list[Unit]:
    """``unit`` and the units above it, nearest first."""
    out: list[Unit] = []
    node: Unit | None = unit
    while node is not None and node not in out:
        out.append(node)
        node = node.parent
    return out
