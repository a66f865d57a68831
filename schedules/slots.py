"""Programme slots: named daily windows in local time, expanded to UTC windows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from broadcaster.models import WEEKDAYS, Slot
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc

# A slot is found within this many days after an airing asks for "the next slot".
SEARCH_DAYS = 8


@dataclass(frozen=True)
class SlotSpec:
    """A slot's shape, detached from the database (what tests and the planner use)."""

    id: int
    name: str
    start: time
    end: time
    days: tuple[str, ...] = WEEKDAYS

    @classmethod
    def of(cls, slot: Slot) -> SlotSpec:
        return cls(slot.id, slot.name, slot.start, slot.end, slot.weekdays)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"slot {self.name!r}: end {self.end} is not after start {self.start}")


@dataclass(frozen=True)
class Window:
    """One slot on one day, in UTC."""

    slot: SlotSpec
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def window_on(slot: SlotSpec, day: date, tz: str = DEFAULT_TZ) -> Window | None:
    """The slot's window on local ``day``, or None when the slot is off that weekday."""
    if WEEKDAYS[day.weekday()] not in slot.days:
        return None
    return Window(
        slot,
        to_utc(datetime.combine(day, slot.start), tz),
        to_utc(datetime.combine(day, slot.end), tz),
    )


def windows(
    slots: list[SlotSpec], start: datetime, end: datetime, tz: str = DEFAULT_TZ
) -> list[Window]:
    """Every slot window that overlaps [start, end), sorted by start."""
    first, last = to_local(start, tz).date(), to_local(end, tz).date()
    out = []
    day = first
    while day <= last:
        for slot in slots:
            w = window_on(slot, day, tz)
            if w is not None and w.start < end and w.end > start:
                out.append(w)
        day += timedelta(days=1)
    return sorted(out, key=lambda w: (w.start, w.slot.id))


def next_window(slot: SlotSpec, after: datetime, tz: str = DEFAULT_TZ) -> Window | None:
    """The first window of ``slot`` that starts at or after ``after``."""
    day = to_local(after, tz).date()
    for i in range(SEARCH_DAYS):
        w = window_on(slot, day + timedelta(days=i), tz)
        if w is not None and w.start >= after:
            return w
    return None


def next_slot_start(
    slots: Iterable[SlotSpec], after: datetime, tz: str = DEFAULT_TZ
) -> datetime | None:
    """The earliest window start of any of ``slots`` at or after ``after`` (None: no slot)."""
    starts = [w.start for s in slots if (w := next_window(s, after, tz)) is not None]
    return min(starts, default=None)
