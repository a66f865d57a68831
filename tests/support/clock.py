"""The suite's fixed "now", far from any day the tests run on, so none depends on the date; and
the one ``clock`` fixture (tests/conftest.py makes it every test's).

A conftest, module or class that needs its clock elsewhere overrides ``clock_start``::

    @pytest.fixture
    def clock_start() -> datetime:
        return NOW  # the data below are pinned to it

and to ``None`` for the system clock: real agent processes and browsers keep the wall clock's
time, and the web folders' data are relative to the app's now (tests/web/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadcaster.clock import Clock, FakeClock, SystemClock

# 08:00 on Monday 4 March 2030 in Vietnam (UTC+7).
FIXED_NOW = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime | None:
    """Where ``clock`` starts: FIXED_NOW, or None for the system clock (override it)."""
    return FIXED_NOW


@pytest.fixture
def clock(clock_start: datetime | None) -> Clock:
    """The test's clock (the app's and the scheduler's too): a FakeClock at ``clock_start``, to
    advance instead of sleeping; the system clock where ``clock_start`` is None."""
    return SystemClock() if clock_start is None else FakeClock(clock_start)
