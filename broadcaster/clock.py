"""The one clock contract: every reader of "now" takes a :class:`Clock`.

Services, the scheduler, ingest, alerts and the agent are given a clock; only the process edges
(the CLI, ``serve``/``web``/``scheduler``/``ingest``, the agent's entry point and the demo) make
the :class:`SystemClock`. Tests give a :class:`FakeClock`, so none depends on the day it runs.
Always timezone-aware UTC; convert to the commune's time only for display and calendars.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# The wall clock, for process edges and for the few defaults that must stay (see the callers).
SYSTEM_CLOCK: Clock = SystemClock()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)
