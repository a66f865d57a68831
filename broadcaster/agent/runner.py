"""The runner plays each plan item on the agent's own clock, network or not.

It sleeps until the next item with ``Event.wait`` (a new plan wakes it), skips items that are more
than ``late_grace_s`` past, plays the rest through the player and records every outcome as an
event. An item is marked handled in the same transaction as its first event, so a restart never
plays it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from broadcaster.wire.messages import Event, Plan, PlanItem

from .fetch import MediaCache, MediaError
from .players import FINISHED, Player, PlayerError
from .store import Store

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]  # returns an aware UTC datetime
MAX_SLEEP_S = 60.0  # re-check at least this often (wall-clock jumps, NTP corrections)


class Runner:
    """Plays the current plan. ``run`` loops in its own thread until ``stop`` is set."""

    def __init__(
        self,
        store: Store,
        cache: MediaCache,
        player: Player,
        clock: Clock,
        *,
        late_grace_s: float = 30.0,
        on_event: Callable[[Event], None] = lambda event: None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.player = player
        self.clock = clock
        self.late_grace_s = late_grace_s
        self.on_event = on_event
        self.stop = stop or threading.Event()
        self._plan: Plan | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._handled = store.handled_ids()
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------

    def set_plan(self, plan: Plan) -> None:
        """Swap in a newer plan and wake the loop."""
        with self._lock:
            self._plan = plan
        self._wake.set()

    @property
    def plan(self) -> Plan | None:
        with self._lock:
            return self._plan

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="runner", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 10.0) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def upcoming(self) -> list[PlanItem]:
        """Items of the current plan not handled yet, soonest first."""
        plan = self.plan
        if plan is None:
            return []
        items = [i for i in plan.items if i.id not in self._handled]
        return sorted(items, key=lambda i: (i.start, i.id))

    # -- loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                delay = self.run_due()
            except Exception:
                logger.exception("runner pass failed; retrying")
                delay = 1.0
            if self.stop.is_set():
                break
            timeout = MAX_SLEEP_S if delay is None else min(max(delay, 0.0), MAX_SLEEP_S)
            self._wake.wait(timeout)
            self._wake.clear()

    def run_due(self) -> float | None:
        """Handle every item that is due now; return seconds until the next one, or None."""
        while not self.stop.is_set():
            upcoming = self.upcoming()
            if not upcoming:
                return None
            item = upcoming[0]
            now = self.clock()
            wait_s = (item.start - now).total_seconds()
            if wait_s > 0:
                return wait_s
            self._handle(item, now)
        return None

    def _emit(self, kind: str, item: PlanItem, detail: str, *, first: bool = False) -> None:
        event = self.store.append_event(
            kind,
            self.clock(),
            item_id=item.id,
            announcement_id=item.announcement_id,
            scheduled_at=item.start,
            detail=detail,
            mark_handled=first,
        )
        if first:
            self._handled.add(item.id)
        logger.info("item %s %s%s", item.id, kind, f" ({detail})" if detail else "")
        try:
            self.on_event(event)
        except Exception:
            logger.exception("could not hand event %d on", event.seq)

    def _handle(self, item: PlanItem, now: datetime) -> None:
        late_s = (now - item.start).total_seconds()
        if late_s > self.late_grace_s:
            self._emit("skipped", item, f"late by {int(late_s)} s", first=True)
            return
        try:
            path = self.cache.fetch(item.media)  # normally a cache hit thanks to the prefetch
        except MediaError as exc:
            self._emit("failed", item, f"media unavailable: {exc.reason}", first=True)
            return
        late_ms = max(0, int((self.clock() - item.start).total_seconds() * 1000))
        self._emit("started", item, f"late by {late_ms} ms; {item.title}", first=True)
        try:
            outcome = self.player.play(path, self.stop, label=item.id)
        except PlayerError as exc:
            self._emit("failed", item, str(exc))
            return
        except Exception as exc:  # a player bug must not stop the schedule
            logger.exception("player crashed on item %s", item.id)
            self._emit("failed", item, f"player error: {exc.__class__.__name__}: {exc}")
            return
        self._emit("finished" if outcome == FINISHED else "interrupted", item, "")
