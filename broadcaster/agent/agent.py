"""The agent process: composes store, media cache, player, runner, message handlers and MQTT
link, and routes each message from the server to its handler.

Server→agent messages must carry a valid signature from a trusted key. A plan is also refused
when it is for another site, expired, or not newer than the current one; a command when it does
not target this site or one of its zones, was seen before or does not move the command seq
forward (``replayed``), or has expired (``expired``: never acted on). Each refusal is logged and
reported as an event, and nothing from it is played. A signed trusted-keys update replaces the
list of trusted keys (only by a newer version).

A store write that fails while deciding on a message (disk full, read-only, I/O error) is
reported (a ``failed`` event, the last error and the heartbeat's ``store_ok``), never lost in
the MQTT callback; the outbox thread retries the writes until the store works again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broadcaster import __version__
from broadcaster.clock import Clock, SystemClock
from broadcaster.wire.messages import Ack, Status
from broadcaster.wire.topics import Topics

from . import health
from .commands import CommandHandler
from .config import AgentConfig
from .fetch import MediaCache, Prefetcher
from .hardware import AlsaMixer, GpioRelay, HardwareError, NoRelay, Relay
from .keys import KeysHandler
from .mpv_ipc import IdleMpvPlayer
from .mqtt import MqttLink
from .plans import AckHandler, PlanHandler
from .players import AplayPlayer, FilePlayer, Player
from .reporter import Reporter
from .runner import Runner, RunnerOptions
from .store import Store, StoreError
from .trust import Trust

logger = logging.getLogger(__name__)

PREPARE_S = 2.0  # verify media and set the volume this long before a start

Handler = Callable[[str, bytes], None]  # (topic, payload)


def make_player(config: AgentConfig) -> Player:
    if config.player == "file":
        return FilePlayer(Path(config.output_dir))
    if config.player == "aplay":
        return AplayPlayer(config.alsa_device)
    return IdleMpvPlayer()  # one mpv kept running between items, driven over IPC


def make_relay(config: AgentConfig, pin_factory: object = None) -> Relay:
    if config.relay_pin < 0:
        return NoRelay()
    return GpioRelay(
        config.relay_pin,
        active_low=config.relay_active_low,
        pre_roll_s=config.relay_pre_roll_s,
        post_roll_s=config.relay_post_roll_s,
        pin_factory=pin_factory,
    )


@dataclass(frozen=True)
class Parts:
    """What a started agent is made of, built in order by :meth:`Agent.open`."""

    store: Store
    reporter: Reporter
    trust: Trust
    cache: MediaCache
    relay: Relay
    mixer: AlsaMixer
    runner: Runner
    prefetcher: Prefetcher
    routes: dict[str, Handler]  # topic → the handler that decides on its messages


class Agent:
    """One site's agent. ``start`` brings the parts up in order; ``stop`` takes them down in
    reverse."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock | None = None,
        player: Player | None = None,
        relay: Relay | None = None,
        mixer: AlsaMixer | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.topics = Topics(config.topic_root)
        self.stop_event = threading.Event()
        self.uptime = health.Uptime()
        self._player = player
        self._relay = relay
        self._mixer = mixer
        self._lock = threading.RLock()  # server messages are decided one at a time
        self._parts: Parts | None = None
        self._plans: PlanHandler | None = None
        self.link: MqttLink | None = None

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            raise RuntimeError(f"the agent for site {self.config.site} is not open (call start)")
        return self._parts

    @property
    def store(self) -> Store:
        return self.parts.store

    @property
    def runner(self) -> Runner:
        return self.parts.runner

    @property
    def keys_version(self) -> int:
        return self.parts.trust.version

    # -- lifecycle ----------------------------------------------------------------------------

    def open(self) -> Parts:
        """Open the store and build the parts, with the plan and the play-now items from before
        a restart; no thread runs and nothing is connected yet (``start`` does that)."""
        state = self.config.state_path
        state.mkdir(parents=True, exist_ok=True)
        store = Store(state / "agent.sqlite3", self.config.site)
        try:
            parts, plans, commands = self._build(store)
        except BaseException:
            store.close()
            raise
        self._parts = parts
        self._plans = plans
        plans.load_saved()
        commands.requeue()
        return parts

    def start(self) -> None:
        parts = self.open()
        parts.runner.start()
        parts.prefetcher.start()
        self._connect(parts)
        logger.info(
            "agent for site %s started (outbox %s, plan version %d, keys version %d)",
            self.config.site,
            parts.store.outbox_id,
            parts.store.plan_version(),
            parts.trust.version,
        )

    def _build(self, store: Store) -> tuple[Parts, PlanHandler, CommandHandler]:
        """The parts around ``store``, and the handlers that decide on the server's messages."""
        config, clock = self.config, self.clock
        reporter = Reporter(store, clock)
        trust = Trust(config.trusted_keys, reporter)
        keys = KeysHandler(
            store=store, trust=trust, reporter=reporter, clock=clock, retry=self.handle_message
        )
        keys.load_saved()
        cache = MediaCache(
            config.state_path / "media",
            config.http_timeout_s,
            store,
            max_bytes=config.cache_max_bytes,
            pinned=self._pinned_media,
            clock=clock,
        )
        relay: Relay = NoRelay()
        try:
            relay = self._relay or make_relay(config)
        except HardwareError as exc:
            logger.error("%s; playing without the relay", exc)
            reporter.note_error(str(exc))
        mixer = self._mixer or AlsaMixer(config.mixer_control, config.mixer_card)
        runner = Runner(
            store,
            cache,
            self._player or make_player(config),
            RunnerOptions(
                clock=clock,
                late_grace_s=config.late_grace_s,
                prepare_s=PREPARE_S,
                relay=relay,
                mixer=mixer,
                default_volume=self.volume,
                on_event=reporter.publish,
                on_error=reporter.note_error,
                stop=self.stop_event,
            ),
        )
        prefetcher = Prefetcher(
            cache,
            runner.upcoming,
            self.stop_event,
            config.prefetch_retry_s,
            max_retry_s=config.prefetch_max_retry_s,
            horizon_s=config.prefetch_horizon_h * 3600,
            clock=clock,
            on_error=reporter.note_error,
        )
        plans = PlanHandler(
            config.site,
            store=store,
            runner=runner,
            prefetcher=prefetcher,
            trust=trust,
            reporter=reporter,
            clock=clock,
        )
        commands = CommandHandler(
            config.site,
            config.zones,
            store=store,
            runner=runner,
            mixer=mixer,
            trust=trust,
            reporter=reporter,
            clock=clock,
        )
        site, topics = config.site, self.topics
        routes: dict[str, Handler] = {
            topics.plan(site): plans.handle,
            topics.ack(site): AckHandler(
                site, store=store, trust=trust, on_ack=self._ack_seen
            ).handle,
            topics.site_cmd(site): commands.handle,
            topics.keys(): keys.handle,
        }
        routes.update({topics.zone_cmd(z): commands.handle for z in config.zones})
        parts = Parts(store, reporter, trust, cache, relay, mixer, runner, prefetcher, routes)
        return parts, plans, commands

    def _connect(self, parts: Parts) -> None:
        """Start the MQTT link; the server's messages reach ``handle_message`` from now on."""
        self.link = MqttLink(
            self.config,
            parts.store,
            self.handle_message,
            self.status,
            before_resend=self.retry_writes,
        )
        parts.reporter.connect(self.link)
        self.link.start()

    def _ack_seen(self, ack: Ack) -> None:
        if self.link is not None:
            self.link.ack_seen(ack)

    def stop(self) -> None:
        self.stop_event.set()
        if self.link is not None:
            self.link.stop()
        parts = self._parts
        if parts is not None:
            parts.prefetcher.join()
            parts.runner.join()
            close_player = getattr(parts.runner.player, "close", None)
            if close_player is not None:
                close_player()  # a kept-running mpv
            parts.relay.close()
            parts.store.close()
        logger.info("agent for site %s stopped", self.config.site)

    def retry_writes(self) -> None:
        """While the store has failed: write the events kept in memory and the plan that runs
        from memory (on the outbox thread, before each resend)."""
        parts, plans = self._parts, self._plans
        if parts is None or plans is None:
            return
        store = parts.store
        if not (store.write_error or store.unsaved_count() or plans.unsaved):
            return
        with self._lock:  # one decision at a time, as for messages
            try:
                store.retry_writes()
            except StoreError:
                return
            plans.retry_save()
        parts.reporter.status_changed()  # store_ok again

    def healthy(self) -> bool:
        """For the systemd watchdog: every thread that must run does."""
        parts = self._parts
        return bool(
            parts is not None
            and parts.runner.alive
            and parts.prefetcher.alive
            and self.link is not None
            and self.link.alive
        )

    def _pinned_media(self) -> set[str]:
        """Media the cache must keep: what the plan needs soon and what plays now."""
        parts = self._parts
        if parts is None:
            return set()
        shas = {i.media.sha256 for i in parts.prefetcher.needed()}
        current = parts.runner.current
        if current is not None:
            shas.add(current.media.sha256)
        return shas

    def volume(self) -> int | None:
        stored = self._parts.store.volume() if self._parts is not None else None
        if stored is not None:
            return stored
        return self.config.default_volume if self.config.default_volume >= 0 else None

    def status(self, state: str) -> Status:
        parts = self._parts
        at = self.clock.now()
        if state != "online" or parts is None:
            return Status(site=self.config.site, state=state, at=at, agent_version=__version__)
        offset, synced = health.clock_state()
        current = parts.runner.current
        live = parts.runner.plan  # may run from memory when the store could not save it
        return Status(
            site=self.config.site,
            state=state,
            at=at,
            plan_version=live.version if live is not None else parts.store.plan_version(),
            agent_version=__version__,
            detail=f"playing {current.id}" if current else "",
            uptime_s=self.uptime.seconds(),
            cache_bytes=parts.cache.total_bytes(),
            disk_free_bytes=health.disk_free_bytes(self.config.state_dir),
            cpu_temp_c=health.cpu_temp_c(),
            clock_offset_ms=offset,
            clock_synced=synced,
            keys_version=parts.trust.version,
            volume=self.volume(),
            last_error=parts.reporter.last_error,
            store_ok=parts.reporter.store_ok,
        )

    # -- messages from the server -------------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Route a message to its handler; one decision at a time."""
        parts = self._parts
        handler = parts.routes.get(topic) if parts is not None else None
        if parts is None or handler is None:
            logger.warning("message on unexpected topic %s ignored", topic)
            return
        with self._lock:
            try:
                handler(topic, payload)
            except StoreError as exc:  # reported, not lost inside the MQTT callback
                parts.reporter.store_failed(f"message on {topic} not handled", exc)
