"""Daily slots and relays written from the web (issue 13).

- **Slots** are named windows shared by every commune (docs/decisions.md, "Out of the scope on
  purpose"), so only a writer whose scope is the whole installation changes them. A slot that
  schedule items use is not deleted: its foreign key would set them to NULL and turn "in the
  next slot" into a fixed time without anyone seeing it.
- **Relays** belong to the units of their zones (``Scope.relays``): a writer gives at least one
  zone, all in their scope, and never reaches a relay with a zone outside it. A new relay, or
  one whose fallback is missing, gets the stored fallback message (``schedules.relays``), as the
  programme import gives it.

Who may write (admins) is the web's check; the planner sees each change through its
``plan_marks`` triggers (slots, relays, relay_zones), so the scheduler's next tick publishes the
sites' new plans, as after a programme import. The CLI keeps its own path
(``programme_import``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audio.renderer import Renderer
from broadcaster.models import WEEKDAYS, Relay, ScheduleItem, Slot
from broadcaster.scope import Scope
from schedules.relays import give_fallbacks

# A relay is at most half a day (a longer one would hide every announcement of its sites).
MAX_RELAY_MINUTES = 12 * 60
STREAM_SCHEMES = ("http://", "https://")


class ProgrammeEditError(ValueError):
    """A slot or relay cannot be saved or deleted as asked; ``code`` names why for the web."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _days(days: Sequence[str]) -> str:
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        raise ProgrammeEditError(f"days {list(days)!r}: give some of {WEEKDAYS}", "days")
    return ",".join(d for d in WEEKDAYS if d in days)


def _name(session: Session, model: type[Slot] | type[Relay], name: str, own: int | None) -> str:
    name = name.strip()
    if not name:
        raise ProgrammeEditError("a name is required", "name")
    other = session.scalar(select(model.id).where(model.name == name))
    if other is not None and other != own:
        raise ProgrammeEditError(f"{model.__name__.lower()} {name!r} exists already", "taken")
    return name


def _installation_wide(scope: Scope) -> None:
    if not scope.everything:
        raise ProgrammeEditError("slots are shared by every commune: the province's", "shared")


@dataclass(frozen=True)
class SlotFields:
    name: str
    start: time
    end: time
    days: tuple[str, ...] = WEEKDAYS


def save_slot(
    session: Session, scope: Scope, fields: SlotFields, existing: Slot | None = None
) -> Slot:
    """Create a slot (or change ``existing``): its name, window and weekdays."""
    _installation_wide(scope)
    name = _name(session, Slot, fields.name, existing.id if existing else None)
    if fields.end <= fields.start:
        raise ProgrammeEditError(f"slot {name!r}: end is not after start", "order")
    slot = existing if existing is not None else Slot()
    slot.name, slot.start, slot.end, slot.days = name, fields.start, fields.end, _days(fields.days)
    session.add(slot)
    session.flush()
    return slot


def slot_uses(session: Session, slot: Slot) -> int:
    """How many schedule items air in ``slot``."""
    return (
        session.scalar(
            select(func.count()).select_from(ScheduleItem).where(ScheduleItem.slot_id == slot.id)
        )
        or 0
    )


def delete_slot(session: Session, scope: Scope, slot: Slot) -> None:
    """Delete a slot no schedule item uses."""
    _installation_wide(scope)
    if uses := slot_uses(session, slot):
        raise ProgrammeEditError(f"slot {slot.name!r} is used by {uses} schedule items", "in-use")
    session.delete(slot)
    session.flush()


@dataclass(frozen=True)
class RelayFields:
    name: str
    stream_url: str
    start: time
    minutes: int
    zone_ids: tuple[str, ...]
    days: tuple[str, ...] = WEEKDAYS
    active: bool = True


def save_relay(
    session: Session,
    scope: Scope,
    fields: RelayFields,
    render: Renderer,
    existing: Relay | None = None,
) -> Relay:
    """Create a relay (or change ``existing``) of zones in ``scope``; a relay without a fallback
    gets one (rendered at most once for all relays)."""
    if existing is not None and scope.get(session, Relay, existing.id) is None:
        raise ProgrammeEditError(f"relay {existing.id} is not yours", "scope")
    name = _name(session, Relay, fields.name, existing.id if existing else None)
    url = fields.stream_url.strip()
    if not url.startswith(STREAM_SCHEMES) or len(url) > 500 or any(c.isspace() for c in url):
        raise ProgrammeEditError(f"relay {name!r}: stream {url!r} is not an http(s) URL", "stream")
    if not 1 <= fields.minutes <= MAX_RELAY_MINUTES:
        raise ProgrammeEditError(f"relay {name!r}: {fields.minutes} minutes", "minutes")
    zones = scope.zones_in(session, fields.zone_ids)
    if not zones or len(zones) != len(set(fields.zone_ids)):
        raise ProgrammeEditError(f"relay {name!r}: zones {fields.zone_ids!r}", "zones")
    relay = existing if existing is not None else Relay()
    relay.name, relay.stream_url, relay.start = name, url, fields.start
    relay.duration_s, relay.days, relay.active = (
        fields.minutes * 60,
        _days(fields.days),
        fields.active,
    )
    relay.zones = sorted(zones, key=lambda z: z.id)
    session.add(relay)
    session.flush()
    give_fallbacks(session, [relay], render)
    return relay


def delete_relay(session: Session, scope: Scope, relay: Relay) -> None:
    """Delete a relay in ``scope`` (its zones' rows go with it)."""
    if scope.get(session, Relay, relay.id) is None:
        raise ProgrammeEditError(f"relay {relay.id} is not yours", "scope")
    session.delete(relay)
    session.flush()
