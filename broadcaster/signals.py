"""Stopping a long-running command (demo, serve, scheduler, ingest, agent) on SIGINT/SIGTERM.

The handler only records the signal; the main thread polls for it. A handler that sets a
``threading.Event`` deadlocks when a second signal lands while the first handler holds the
Event's lock (Ctrl-C together with ``timeout``'s or systemd's SIGTERM): the demo hung that way.
Standard library only, so the agent can use it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable
from types import FrameType
from typing import Any

POLL_S = 0.2  # how soon the main thread sees a signal


class StopSignals:
    """``with StopSignals() as signals: ... signals.wait()``: ``wait`` returns True once SIGINT
    or SIGTERM has come (``received`` says which), False when its timeout passed first. The
    previous handlers are put back on leaving."""

    def __init__(self, signums: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signums = tuple(signums)
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:  # no lock, no I/O: safe however many signals nest
            self.received = signum

    def __enter__(self) -> StopSignals:
        self._previous = {s: signal.signal(s, self._on_signal) for s in self.signums}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.received is None:
            left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
            if left <= 0:
                return False
            time.sleep(left)
        return True
