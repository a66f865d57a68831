"""The runner plays each plan item on the agent's own clock, network or not, and play-now items
from commands at once.

It sleeps until the next item with ``Event.wait`` (a new plan or command wakes it). Shortly
before a start (``prepare_s``, or the relay's pre-roll if longer) it verifies the media, sets the
volume, switches the amplifier relay on and readies the player (a kept-running mpv is started
again if it died), then sleeps to the exact start. With a player that reports when sound starts
(mpv over IPC) what is left at the start is one ``loadfile``, and ``started`` is committed when
mpv reports playback, so its ``late_ms`` is due time → audible start; with other players
``started`` is committed just before they are asked to play. Items more than ``late_grace_s``
past are skipped. Every outcome is an event; an item is marked handled in the same transaction
as its first event, so a restart never plays it again.

Play-now items (``submit``) are served before the plan: emergency first, then priority, then
normal, in order of arrival. An emergency interrupts whatever plays unless that is an emergency
too (the cut-off item is logged ``interrupted``); afterwards the plan resumes (items still within
the grace play late, older ones are skipped). A play-now item still waiting when its command
expires is logged ``expired`` and never plays.

While an item plays, the store holds a ``playing`` row (written and cleared in the same
transactions as its ``started`` and final events): after a kill -9, :meth:`recover` reports the
item that was cut off as ``interrupted``.

When the store cannot write (disk full, read-only, I/O error) the runner goes on: items whose
media is cached still play, an item is handled in memory so it never plays twice in this
process, and its events wait in the store's memory until they can be written.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from broadcaster.clock import Clock, SystemClock
from broadcaster.wire.fields import from_wire_time
from broadcaster.wire.live import LiveStream
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Plan, PlanItem, priority_rank

from .fetch import MediaCache, MediaError
from .hardware import AlsaMixer, HardwareError, NoRelay, Relay
from .live import play_live
from .players import FINISHED, Player, PlayerError, StreamError
from .store import Store, StoreError

logger = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # re-check at least this often (wall-clock jumps, NTP corrections)


@dataclass
class Urgent:
    """A play-now item from a command (``live``: a live session's stream, not a file)."""

    item: PlanItem
    command: str
    issued_at: datetime
    expires_at: datetime
    order: int = 0
    live: LiveStream | None = None


@dataclass
class _Playing:
    item: PlanItem
    command: str | None
    interrupt: threading.Event = field(default_factory=threading.Event)
    why: str = ""
    by_command: str | None = None

    def cut(self, why: str, by_command: str | None = None) -> None:
        if not self.interrupt.is_set():
            self.why, self.by_command = why, by_command
            self.interrupt.set()


@dataclass(frozen=True)
class RunnerOptions:
    """How a :class:`Runner` runs: its clock, timing, amplifier hardware and hooks."""

    clock: Clock = field(default_factory=SystemClock)
    late_grace_s: float = 30.0  # items more than this past their start are skipped
    prepare_s: float = 0.0  # verify media and set the volume this long before a start
    relay: Relay = field(default_factory=NoRelay)
    mixer: AlsaMixer | None = None
    default_volume: Callable[[], int | None] = lambda: None  # for items without a volume
    on_event: Callable[[Event], None] = lambda event: None  # each event once in the outbox
    on_error: Callable[[str], None] = lambda message: None  # for the status' last error
    stop: threading.Event = field(default_factory=threading.Event)


class Runner:
    """Plays the current plan and play-now items. ``run`` loops in its own thread until
    ``stop`` is set."""

    def __init__(
        self,
        store: Store,
        cache: MediaCache,
        player: Player,
        options: RunnerOptions | None = None,
    ) -> None:
        options = options or RunnerOptions()
        self.store = store
        self.cache = cache
        self.player = player
        self.clock = options.clock
        self.late_grace_s = options.late_grace_s
        self.prepare_s = options.prepare_s
        self.relay = options.relay
        self.mixer = options.mixer
        self.default_volume = options.default_volume
        self.on_event = options.on_event
        self.on_error = options.on_error
        self.stop = options.stop
        self._plan: Plan | None = None
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._handled = store.handled_ids()
        self._urgent: list[Urgent] = []
        self._order = itertools.count(1)
        self._current: _Playing | None = None
        self._prepared: tuple[str, Path] | None = None  # (item id, verified media path)
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

    @property
    def current(self) -> PlanItem | None:
        """The item playing now, if any."""
        with self._lock:
            return self._current.item if self._current else None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self.run, name="runner", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._current is not None:
                self._current.cut("agent stopping")
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def upcoming(self) -> list[PlanItem]:
        """Items of the current plan not handled yet, soonest first."""
        plan = self.plan
        if plan is None:
            return []
        with self._lock:
            items = [i for i in plan.items if i.id not in self._handled]
        return sorted(items, key=lambda i: (i.start, i.id))

    def item_state(self, item_id: str) -> str | None:
        """ "handled", "playing", "queued" (a play-now waiting) or None."""
        with self._lock:
            if self._current is not None and self._current.item.id == item_id:
                return "playing"
            if item_id in self._handled:
                return "handled"
            if any(u.item.id == item_id for u in self._urgent):
                return "queued"
        return None

    def mark_handled(self, item_id: str) -> None:
        """Record that the store marked ``item_id`` handled (it never plays)."""
        with self._lock:
            self._handled.add(item_id)

    def submit(self, urgent: Urgent) -> str:
        """Queue a play-now item; an emergency interrupts a non-emergency item that plays.
        Returns "queued", or the item's state when it is already handled/playing/queued."""
        with self._lock:
            state = self.item_state(urgent.item.id)
            if state is not None:
                return state
            urgent.order = next(self._order)
            self._urgent.append(urgent)
            current = self._current
            if (
                current is not None
                and urgent.item.priority == "emergency"
                and current.item.priority != "emergency"
            ):
                current.cut(f"interrupted by emergency {urgent.item.id}", urgent.command)
        self._wake.set()
        return "queued"

    def stop_playing(self, command: str, item_id: str | None, reason: str = "") -> list[str]:
        """Stop ``item_id`` (or whatever plays) and drop matching queued play-now items.
        Returns the ids stopped or dropped."""
        why = "stopped by command" + (f": {reason}" if reason else "")
        with self._lock:
            stopped: list[str] = []
            current = self._current
            if current is not None and item_id in (None, current.item.id):
                current.cut(why, command)
                stopped.append(current.item.id)
            dropped = [u for u in self._urgent if item_id in (None, u.item.id)]
            self._urgent = [u for u in self._urgent if u not in dropped]
        for u in dropped:
            self._emit("skipped", u.item, f"{why} before it played", first=True, command=command)
        self._wake.set()
        return stopped + [u.item.id for u in dropped]

    def recover(self) -> Event | None:
        """Report the item a crash cut off (if any) as interrupted."""
        cut = self.store.cut_off_playback()
        if cut is None:
            return None
        sched = cut["scheduled_at"]
        logger.warning("item %s was cut off by a restart; logged as interrupted", cut["item_id"])
        try:
            event = self.store.append_event(
                "interrupted",
                self.clock.now(),
                item_id=str(cut["item_id"]),
                announcement_id=cut["announcement_id"],  # type: ignore[arg-type]
                scheduled_at=from_wire_time(sched, "scheduled_at") if sched else None,
                detail=f"agent restarted during playback (started {cut['started_at']})",
                command=cut["command"],  # type: ignore[arg-type]
                playing=False,
            )
        except StoreError as exc:
            self.on_error(f"store: interrupted event kept in memory: {exc}")
            return None
        self._hand_on(event)
        return event

    # -- loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                delay = self.run_due()
            except Exception as exc:
                logger.exception("runner pass failed; retrying")
                self.on_error(f"runner: {exc.__class__.__name__}: {exc}")
                delay = 1.0
            if self.stop.is_set():
                break
            timeout = MAX_SLEEP_S if delay is None else min(max(delay, 0.0), MAX_SLEEP_S)
            self._wake.wait(timeout)
            self._wake.clear()

    def run_due(self) -> float | None:
        """Handle every item that is due now; return seconds until the next one, or None."""
        while not self.stop.is_set():
            urgent = self._pop_urgent()
            if urgent is not None:
                self._handle_urgent(urgent)
                continue
            upcoming = self.upcoming()
            if not upcoming:
                self.relay.release()
                return None
            item = upcoming[0]
            now = self.clock.now()
            wait_s = (item.start - now).total_seconds()
            if wait_s > 0:
                lead = max(self.prepare_s, self.relay.pre_roll_s)
                if wait_s > lead:
                    if wait_s > lead + self.relay.pre_roll_s:
                        self.relay.release()
                    return wait_s - lead if lead else wait_s
                self._prepare(item)
                wait_s = (item.start - self.clock.now()).total_seconds()
                if wait_s > 0:
                    return wait_s
                now = self.clock.now()
            self._handle(item, now)
        return None

    # -- internals ----------------------------------------------------------------------------

    def _pop_urgent(self) -> Urgent | None:
        with self._lock:
            if not self._urgent:
                return None
            best = min(self._urgent, key=lambda u: (priority_rank(u.item.priority), u.order))
            self._urgent.remove(best)
            return best

    def _hand_on(self, event: Event) -> None:
        try:
            self.on_event(event)
        except Exception:
            logger.exception("could not hand event %d on", event.seq)

    def _emit(
        self,
        kind: str,
        item: PlanItem,
        detail: str,
        *,
        first: bool = False,
        command: str | None = None,
        late_ms: int | None = None,
        playing: bool | None = None,
    ) -> Event | None:
        """Append the item's event and hand it on; None when the store cannot write now (the
        event waits in the store's memory, and the item counts as handled in this process)."""
        if first:
            with self._lock:
                self._handled.add(item.id)
        logger.info("item %s %s%s", item.id, kind, f" ({detail})" if detail else "")
        if kind == "failed":
            self.on_error(f"item {item.id} failed: {detail}")
        try:
            event = self.store.append_event(
                kind,
                self.clock.now(),
                item_id=item.id,
                announcement_id=item.announcement_id,
                scheduled_at=item.start,
                detail=detail,
                mark_handled=first,
                command=command,
                late_ms=late_ms,
                playing=playing,
            )
        except StoreError as exc:
            self.on_error(f"store: item {item.id} {kind} event kept in memory: {exc}")
            return None
        self._hand_on(event)
        return event

    def _prepare(self, item: PlanItem) -> None:
        """Before the start: verify the media, set the volume, switch the amplifier on, and
        have the player ready (a kept-running mpv is restarted here if it died)."""
        if self._prepared is None or self._prepared[0] != item.id:
            try:
                self._prepared = (item.id, self.cache.fetch(item.media))
            except MediaError:
                self._prepared = None  # _handle fetches once more and reports the failure
            self._set_volume(item)
        file = self._prepared[1] if self._prepared and item.stream is None else None
        self._ready_player(file)
        self._acquire_relay(wait=False)

    def _ready_player(self, path: Path | None) -> None:
        prepare = getattr(self.player, "prepare", None)
        if prepare is None:
            return
        try:
            prepare(path)
        except PlayerError as exc:  # play() tries once more and reports the failure
            logger.error("player not ready: %s", exc)
            self.on_error(f"player: {exc}")

    def _set_volume(self, item: PlanItem) -> None:
        if self.mixer is None:
            return
        volume = item.volume if item.volume is not None else self.default_volume()
        if volume is None:
            return
        try:
            self.mixer.set(volume)
        except HardwareError as exc:
            logger.error("%s", exc)
            self.on_error(str(exc))

    def _acquire_relay(self, wait: bool, interrupt: threading.Event | None = None) -> None:
        try:
            ready_in = self.relay.acquire()
        except Exception as exc:  # a relay fault must not silence the speaker logic
            logger.exception("relay failed")
            self.on_error(f"relay: {exc}")
            return
        if wait and ready_in > 0:
            (interrupt or self.stop).wait(ready_in)

    def _media_path(self, item: PlanItem) -> Path:
        if self._prepared is not None and self._prepared[0] == item.id:
            path = self._prepared[1]
            self._prepared = None
            if path.exists():  # verified (and touched, for the LRU) moments ago by _prepare
                return path
        return self.cache.fetch(item.media)

    def _handle(self, item: PlanItem, now: datetime) -> None:
        late_s = (now - item.start).total_seconds()
        if late_s > self.late_grace_s:
            self._emit("skipped", item, f"late by {int(late_s)} s", first=True)
            return
        try:
            path: Path | None = self._media_path(item)  # normally verified by _prepare
        except MediaError as exc:
            if item.stream is None:
                self._emit("failed", item, f"media unavailable: {exc.reason}", first=True)
                return
            path = None  # the stream may still work; the fallback is missing
        self._play(item, path, due=item.start, command=None)

    def _handle_urgent(self, urgent: Urgent) -> None:
        item = urgent.item
        if self.item_state(item.id) == "handled":
            logger.info("play-now item %s was handled meanwhile; not played again", item.id)
            return
        if urgent.expires_at <= self.clock.now():
            self._emit(
                "expired",
                item,
                f"command expired at {urgent.expires_at:%Y-%m-%d %H:%M:%S} UTC before it played",
                first=True,
                command=urgent.command,
            )
            return
        if urgent.live is not None:
            self._play(item, None, due=urgent.issued_at, command=urgent.command, urgent=urgent)
            return
        try:
            path: Path | None = self._media_path(item)
        except MediaError as exc:
            if item.stream is None:
                self._emit(
                    "failed",
                    item,
                    f"media unavailable: {exc.reason}",
                    first=True,
                    command=urgent.command,
                )
                return
            path = None
        self._play(item, path, due=urgent.issued_at, command=urgent.command, urgent=urgent)

    def _play(
        self,
        item: PlanItem,
        path: Path | None,
        *,
        due: datetime,
        command: str | None,
        urgent: Urgent | None = None,
    ) -> None:
        playing = _Playing(item, command)
        with self._lock:
            if self.stop.is_set():
                return
            if item.priority != "emergency" and any(
                u.item.priority == "emergency" for u in self._urgent
            ):
                # An emergency arrived meanwhile: it goes first, this item after it (a plan item
                # stays in the plan; a play-now item goes back in the queue).
                if urgent is not None:
                    self._urgent.append(urgent)
                return
            self._current = playing
        # A player that reports when sound starts (mpv --idle over IPC) gets the `started` event
        # emitted at that moment, so `late_ms` is due time → audible start; others get it just
        # before they are asked to play (due time → the start decision).
        live = urgent.live if urgent is not None else None
        deferred = (
            bool(getattr(self.player, "reports_start", False))
            and item.stream is None
            and live is None
        )
        reported: list[bool] = []  # set once `started` was emitted

        def report_start(player_s: float | None = None) -> None:
            if reported:
                return
            at = self.clock.now()
            late_ms = max(0, int((at - due).total_seconds() * 1000))
            what = (
                f"stream {item.stream.url} for {item.stream.duration_ms // 1000} s; "
                if (item.stream)
                else f"live session {live.session}; "
                if live is not None
                else ""
            )
            player = "" if player_s is None else f" (player started in {player_s * 1000:.0f} ms)"
            self._emit(
                "started",
                item,
                f"late by {late_ms} ms{player}; {what}{item.title}",
                first=True,
                command=command,
                late_ms=late_ms,
                playing=True,
            )
            reported.append(True)

        try:
            self._acquire_relay(wait=True, interrupt=playing.interrupt)
            self._set_volume(item)
            if not deferred:
                report_start()
            if live is not None:
                outcome, note = play_live(self.player, live, playing.interrupt, item.id)
                if outcome != FINISHED and not playing.interrupt.is_set():
                    playing.cut(note)  # the stream was lost: that is why it stopped
                    note = ""
            else:
                started = report_start if deferred else None
                outcome, note = self._perform(item, path, playing, started)
            if outcome == FINISHED:
                report_start()  # a player that finished without reporting its start
        except PlayerError as exc:
            self._emit("failed", item, str(exc), command=command, playing=False, first=not reported)
            return
        except Exception as exc:  # a player bug must not stop the schedule
            logger.exception("player crashed on item %s", item.id)
            self._emit(
                "failed",
                item,
                f"player error: {exc.__class__.__name__}: {exc}",
                command=command,
                playing=False,
                first=not reported,
            )
            return
        finally:
            with self._lock:
                self._current = None
            self.relay.release()
        if outcome == FINISHED:
            self._emit("finished", item, note, command=command, playing=False)
        else:
            self._emit(
                "interrupted",
                item,
                "; ".join(p for p in (playing.why or "agent stopping", note) if p),
                command=playing.by_command or command,
                playing=False,
                first=not reported,  # cut off while the player was still loading it
            )

    def _perform(
        self,
        item: PlanItem,
        path: Path | None,
        playing: _Playing,
        started: Callable[[float], None] | None = None,
    ) -> tuple[str, str]:
        """Play the item; returns (outcome, note for the final event). ``started`` goes to a
        player that reports when sound starts."""
        stream = item.stream
        play_stream = getattr(self.player, "play_stream", None)
        if stream is not None and play_stream is not None:
            try:
                outcome = play_stream(
                    stream.url, stream.duration_ms / 1000, playing.interrupt, label=item.id
                )
                return outcome, "stream relayed"
            except StreamError as exc:
                logger.warning("stream of item %s failed: %s; playing the fallback", item.id, exc)
                self.on_error(f"item {item.id} stream failed: {exc}")
                if path is None:
                    raise PlayerError(f"stream failed ({exc}) and no fallback media") from None
                outcome = self.player.play(path, playing.interrupt, label=f"{item.id}-fallback")
                return outcome, f"stream failed after {exc.played_s:.0f} s ({exc}); fallback played"
        if path is None:
            raise PlayerError("media unavailable")
        if started is not None:
            play: Callable[..., str] = self.player.play
            return play(path, playing.interrupt, label=item.id, started=started), ""
        return self.player.play(path, playing.interrupt, label=item.id), ""
