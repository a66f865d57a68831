"""Recurrence: RFC 5545 RRULEs (python-dateutil) and the friendly editor model around them.

Rules are expanded in the commune's local wall-clock time (``Asia/Ho_Chi_Minh`` by default) and
returned as aware UTC datetimes: what the wire carries. The editor model (days of week, every N
days, until a date or N times, several times per day) always becomes ``FREQ=DAILY``: several
times per day are ``BYHOUR``×``BYMINUTE`` narrowed with ``BYSETPOS`` when they are not a full
cross product, so the text stays plain RFC 5545 that any calendar app understands.

>>> r = Recurrence(days=("MO", "TH"), times=(time(17, 0),), until=date(2026, 12, 31))
>>> r.to_rrule()
'FREQ=DAILY;BYDAY=MO,TH;BYHOUR=17;BYMINUTE=0;BYSECOND=0;UNTIL=20261231T235959'
>>> Recurrence.from_rrule(r.to_rrule()) == r
True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, rrule, rrulestr, weekday

from broadcaster.models import WEEKDAYS, ScheduleItem

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
MAX_TIMES_PER_DAY = 12
MAX_COUNT = 1000


class RecurrenceError(ValueError):
    """A recurrence rule or editor value is invalid; the message says which part."""


@dataclass(frozen=True)
class Recurrence:
    """What staff pick: on which days, how often, until when, at which times of day."""

    days: tuple[str, ...] = ()  # MO..SU; empty = every day
    interval: int = 1  # every N days
    times: tuple[time, ...] = ()  # local times of day; empty = the item's own start time
    until: date | None = None  # last local day, inclusive
    count: int | None = None  # or this many airings in all

    def __post_init__(self) -> None:
        bad = [d for d in self.days if d not in WEEKDAYS]
        if bad:
            raise RecurrenceError(f"unknown weekdays {bad}; use {', '.join(WEEKDAYS)}")
        if not 1 <= self.interval <= 366:
            raise RecurrenceError(f"every {self.interval} days: must be 1 to 366")
        if len(self.times) > MAX_TIMES_PER_DAY:
            raise RecurrenceError(f"{len(self.times)} times a day; at most {MAX_TIMES_PER_DAY}")
        if self.until is not None and self.count is not None:
            raise RecurrenceError("give an end date or a number of airings, not both")
        if self.count is not None and not 1 <= self.count <= MAX_COUNT:
            raise RecurrenceError(f"{self.count} airings: must be 1 to {MAX_COUNT}")
        object.__setattr__(self, "days", tuple(sorted(set(self.days), key=WEEKDAYS.index)))
        object.__setattr__(self, "times", tuple(sorted({_minute(t) for t in self.times})))

    def to_rrule(self) -> str:
        """The RRULE text (without DTSTART)."""
        parts = ["FREQ=DAILY"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.days and len(self.days) < 7:
            parts.append("BYDAY=" + ",".join(self.days))
        if self.times:
            hours = sorted({t.hour for t in self.times})
            minutes = sorted({t.minute for t in self.times})
            parts.append("BYHOUR=" + ",".join(map(str, hours)))
            parts.append("BYMINUTE=" + ",".join(map(str, minutes)))
            parts.append("BYSECOND=0")
            grid = [time(h, m) for h, m in itertools.product(hours, minutes)]
            if len(grid) != len(self.times):
                pos = [i + 1 for i, t in enumerate(grid) if t in self.times]
                parts.append("BYSETPOS=" + ",".join(map(str, pos)))
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}T235959")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        return ";".join(parts)

    @classmethod
    def from_rrule(cls, text: str) -> Recurrence:
        """Back to the editor model; RecurrenceError when the rule is not one it can show."""
        fields = _fields(text)
        if fields.pop("FREQ", None) != "DAILY":
            raise RecurrenceError(f"only daily rules fit the editor: {text!r}")
        days = tuple(fields.pop("BYDAY").split(",")) if "BYDAY" in fields else ()
        interval = int(fields.pop("INTERVAL", "1"))
        times: tuple[time, ...] = ()
        if "BYHOUR" in fields:
            hours = [int(h) for h in fields.pop("BYHOUR").split(",")]
            minutes = [int(m) for m in fields.pop("BYMINUTE", "0").split(",")]
            fields.pop("BYSECOND", None)
            grid = [time(h, m) for h, m in itertools.product(sorted(hours), sorted(minutes))]
            if "BYSETPOS" in fields:
                pos = [int(p) for p in fields.pop("BYSETPOS").split(",")]
                if any(not 1 <= p <= len(grid) for p in pos):
                    raise RecurrenceError(f"BYSETPOS outside one day's times: {text!r}")
                grid = [grid[p - 1] for p in pos]
            times = tuple(grid)
        until = None
        if "UNTIL" in fields:
            until = _parse_until(fields.pop("UNTIL"))
        count = int(fields.pop("COUNT")) if "COUNT" in fields else None
        if fields:
            raise RecurrenceError(f"the editor cannot show {', '.join(sorted(fields))}")
        return cls(days=days, interval=interval, times=times, until=until, count=count)


def _minute(t: time) -> time:
    return t.replace(second=0, microsecond=0, tzinfo=None)


def _fields(text: str) -> dict[str, str]:
    text = text.strip().removeprefix("RRULE:")
    out: dict[str, str] = {}
    for part in filter(None, text.split(";")):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise RecurrenceError(f"bad RRULE part {part!r}")
        out[key.upper()] = value.upper()
    return out


def _parse_until(value: str) -> date:
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        raise RecurrenceError(f"bad UNTIL {value!r}") from None


def parse_rule(text: str, dtstart_local: datetime) -> rrule:
    """An RRULE (no DTSTART) bound to a naive local DTSTART; RecurrenceError if invalid."""
    try:
        rule = rrulestr(text.strip().removeprefix("RRULE:"), dtstart=dtstart_local)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid RRULE {text!r}: {exc}") from None
    if not isinstance(rule, rrule):
        raise RecurrenceError(f"one RRULE expected, got {text!r}")
    return rule


def validate_rrule(text: str) -> None:
    """Raise RecurrenceError unless ``text`` is an RRULE with a finite or bounded expansion."""
    parse_rule(text, datetime(2026, 1, 1))


def to_local(dt: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """An aware datetime as naive local wall-clock time."""
    return dt.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def to_utc(local: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """Naive local wall-clock time as aware UTC."""
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def expand(
    rule_text: str,
    dtstart: datetime,
    start: datetime,
    end: datetime,
    *,
    tz: str = DEFAULT_TZ,
    valid_until: datetime | None = None,
) -> list[datetime]:
    """UTC occurrences of ``rule_text`` from ``dtstart`` that lie in [start, end)."""
    if valid_until is not None:
        end = min(end, valid_until + timedelta(microseconds=1))
    if end <= start:
        return []
    rule = parse_rule(rule_text, to_local(dtstart, tz))
    lo, hi = to_local(start, tz), to_local(end, tz)
    return [to_utc(t, tz) for t in rule.between(lo, hi, inc=True) if to_utc(t, tz) < end]


def item_occurrences(
    item: ScheduleItem, start: datetime, end: datetime, *, tz: str = DEFAULT_TZ
) -> list[datetime]:
    """Nominal UTC times of ``item`` in [start, end): its RRULE's, or its one ``start_at``."""
    if item.rrule:
        return expand(item.rrule, item.start_at, start, end, tz=tz, valid_until=item.valid_until)
    if item.valid_until is not None and item.start_at > item.valid_until:
        return []
    return [item.start_at] if start <= item.start_at < end else []


def next_occurrence(
    item: ScheduleItem, after: datetime, *, tz: str = DEFAULT_TZ
) -> datetime | None:
    """The first nominal time of ``item`` at or after ``after`` (None when it has ended)."""
    if not item.rrule:
        ok = item.start_at >= after and (
            item.valid_until is None or item.start_at <= item.valid_until
        )
        return item.start_at if ok else None
    rule = parse_rule(item.rrule, to_local(item.start_at, tz))
    nxt = rule.after(to_local(after, tz), inc=True)
    if nxt is None:
        return None
    when = to_utc(nxt, tz)
    return when if item.valid_until is None or when <= item.valid_until else None


def first_on_or_after(rec: Recurrence, day: date, default_time: time) -> datetime:
    """The naive local DTSTART for ``rec`` starting on ``day``: the day's first chosen time."""
    return datetime.combine(day, rec.times[0] if rec.times else _minute(default_time))


def weekday_codes(days: tuple[str, ...]) -> list[weekday]:
    """dateutil weekday objects for MO..SU codes."""
    from dateutil.rrule import FR, MO, SA, SU, TH, TU, WE

    table = dict(zip(WEEKDAYS, (MO, TU, WE, TH, FR, SA, SU), strict=True))
    return [table[d] for d in days]


def daily_times(days: tuple[str, ...], at: time, start: date, end: date) -> Iterator[datetime]:
    """Naive local datetimes at ``at`` on ``days`` (all if empty) from ``start`` to ``end``."""
    byweekday = weekday_codes(days) if days else None
    yield from rrule(
        DAILY,
        dtstart=datetime.combine(start, at),
        until=datetime.combine(end, at),
        byweekday=byweekday,
    )
