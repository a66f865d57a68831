"""Conflicts: place airings on one site's timeline without overlaps, and say what clashed.

Pure functions, no I/O. The order in which airings claim time (docs/decisions.md, issue #5):

1. priority: emergency, then priority, then normal;
1b. then precedence: among one priority, a bulletin sent down from an upper unit goes ahead of
   the commune's own items until the commune's staff put it behind them
   (``Announcement.precedence``: 0 ahead, 1 the commune's own, 2 behind);
2. then campaign: an airing that belongs to a campaign before one that does not;
3. then time of approval: earlier first; then nominal start, then id (deterministic).

Each airing is placed, in that order, at the earliest free moment at or after its nominal start:
slot airings must end inside their slot window (else: *overflow*, not aired); fixed-time airings
may slip at most ``MAX_SLIP`` (else: *overlap*, not aired). Emergencies ignore relays. Placed
airings are separated by ``GAP``. The result never overlaps, by construction.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.wire.plan import priority_rank

GAP = timedelta(seconds=2)
MAX_SLIP = timedelta(minutes=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """One airing that wants time on a site."""

    key: str  # the occurrence id
    nominal: datetime
    duration: timedelta
    priority: str = "normal"
    campaign_id: int | None = None
    approved_at: datetime | None = None
    window_end: datetime | None = None  # slot airings: must end by then
    payload: Any = field(default=None, compare=False)
    precedence: int = 1  # Announcement.precedence

    def rank(self) -> tuple[int, int, int, datetime, datetime, str]:
        return (
            priority_rank(self.priority),
            self.precedence,
            0 if self.campaign_id is not None else 1,
            self.approved_at or _EPOCH,
            self.nominal,
            self.key,
        )


@dataclass(frozen=True)
class Busy:
    """Time that is taken but is not a plan item (a relay)."""

    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Placed:
    candidate: Candidate
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + self.candidate.duration

    @property
    def moved(self) -> bool:
        return self.start != self.candidate.nominal


@dataclass(frozen=True)
class Clash:
    """An airing that could not air at its nominal time: moved, overflow or overlap."""

    key: str
    kind: str  # "moved" | "overflow" | "overlap"
    nominal: datetime
    placed_at: datetime | None
    blocked_by: tuple[str, ...]


class Timeline:
    """Sorted, non-overlapping busy intervals (start, end, label)."""

    def __init__(self) -> None:
        self._starts: list[datetime] = []
        self._spans: list[tuple[datetime, datetime, str]] = []
        self._longest = timedelta(0)  # spans may overlap (relays): look back this far

    def add(self, start: datetime, end: datetime, label: str) -> None:
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._spans.insert(i, (start, end, label))
        self._longest = max(self._longest, end - start)

    def earliest(
        self, at: datetime, length: timedelta, gap: timedelta
    ) -> tuple[datetime, list[str]]:
        """The first t >= at with [t - gap, t + length + gap) free; and the labels in the way."""
        t = at
        blockers: list[str] = []
        i = bisect.bisect_left(self._starts, at - self._longest - gap)
        while i < len(self._spans):
            s, e, label = self._spans[i]
            if e + gap <= t:
                i += 1
                continue
            if s >= t + length + gap:
                break
            blockers.append(label)
            t = max(t, e + gap)
            i += 1
        return t, blockers

    def spans(self) -> list[tuple[datetime, datetime, str]]:
        return list(self._spans)


def pack(
    candidates: Iterable[Candidate],
    busy: Iterable[Busy] = (),
    *,
    gap: timedelta = GAP,
    max_slip: timedelta = MAX_SLIP,
) -> tuple[list[Placed], list[Clash]]:
    """Place candidates by rank; returns (placed sorted by start, clashes)."""
    ordered = sorted(candidates, key=Candidate.rank)
    items = Timeline()  # what is on the plan
    all_busy = Timeline()  # plan items and relays
    for b in busy:
        all_busy.add(b.start, b.end, b.label)
    placed: list[Placed] = []
    clashes: list[Clash] = []
    for c in ordered:
        line = items if c.priority == "emergency" else all_busy
        start, blockers = line.earliest(c.nominal, c.duration, gap)
        end = start + c.duration
        limit_ok = (
            end <= c.window_end if c.window_end is not None else start - c.nominal <= max_slip
        )
        if not limit_ok:
            kind = "overflow" if c.window_end is not None else "overlap"
            clashes.append(Clash(c.key, kind, c.nominal, None, tuple(blockers)))
            continue
        placed.append(Placed(c, start))
        items.add(start, end, c.key)
        all_busy.add(start, end, c.key)
        if start != c.nominal and c.window_end is None:  # packing in a slot is no clash
            clashes.append(Clash(c.key, "moved", c.nominal, start, tuple(blockers)))
    placed.sort(key=lambda p: (p.start, p.candidate.key))
    return placed, clashes


def overlaps(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
    """Index pairs of overlapping [start, end) spans (sorted by start); for checks and tests."""
    ordered = sorted(enumerate(spans), key=lambda x: x[1][0])
    out = []
    for (i, (_, e1)), (j, (s2, _)) in zip(ordered, ordered[1:], strict=False):
        if s2 < e1:
            out.append((i, j))
    return out
