"""The agent process: composes store, media cache, player, runner and MQTT link, and decides
what to do with each message from the server.

Server→agent messages must carry a valid signature from a trusted key. A plan is also refused
when it is for another site, expired, or not newer than the current one; a command when it does
not target this site or one of its zones, was seen before or does not move the command seq
forward (``replayed``), or has expired (``expired``: never acted on). Each refusal is logged and
reported as an event, and nothing from it is played. A signed trusted-keys update replaces the
list of trusted keys (only by a newer version).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from broadcaster import __version__
from broadcaster.wire.messages import Status
from broadcaster.wire.signing import Verifier
from broadcaster.wire.topics import Topics

from . import health
from .commands import CommandHandling
from .config import AgentConfig
from .fetch import MediaCache, Prefetcher
from .hardware import AlsaMixer, GpioRelay, HardwareError, NoRelay, Relay
from .keys import KeysHandling
from .mqtt import MqttLink
from .plans import PlanHandling
from .players import AplayPlayer, FilePlayer, MpvPlayer, Player
from .runner import Clock, Runner
from .store import Store

logger = logging.getLogger(__name__)

PREPARE_S = 2.0  # verify media and set the volume this long before a start


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_player(config: AgentConfig) -> Player:
    if config.player == "file":
        return FilePlayer(Path(config.output_dir))
    if config.player == "aplay":
        return AplayPlayer(config.alsa_device)
    return MpvPlayer()


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


class Agent(PlanHandling, CommandHandling, KeysHandling):
    """One site's agent. ``start`` brings the parts up in order; ``stop`` takes them down in
    reverse."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock = utc_now,
        player: Player | None = None,
        relay: Relay | None = None,
        mixer: AlsaMixer | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.topics = Topics(config.topic_root)
        self.verifier = Verifier(list(config.trusted_keys))
        self.keys_version = 0
        self.stop_event = threading.Event()
        self._player = player
        self._relay = relay
        self._mixer = mixer
        self._lock = threading.RLock()  # server messages are decided one at a time
        self._held: dict[str, bytes] = {}  # topic → last message signed by an unknown key
        self.uptime = health.Uptime()
        self.last_error = ""
        self.store: Store | None = None
        self.cache: MediaCache | None = None
        self.runner: Runner | None = None
        self.prefetcher: Prefetcher | None = None
        self.link: MqttLink | None = None
        self.relay: Relay = NoRelay()
        self.mixer: AlsaMixer | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        state = self.config.state_path
        state.mkdir(parents=True, exist_ok=True)
        self.store = Store(state / "agent.sqlite3", self.config.site)
        self._load_trusted_keys()
        self.cache = MediaCache(
            state / "media",
            self.config.http_timeout_s,
            self.store,
            max_bytes=self.config.cache_max_bytes,
            pinned=self._pinned_media,
        )
        try:
            self.relay = self._relay or make_relay(self.config)
        except HardwareError as exc:
            logger.error("%s; playing without the relay", exc)
            self.note_error(str(exc))
        self.mixer = self._mixer or AlsaMixer(self.config.mixer_control, self.config.mixer_card)
        self.runner = Runner(
            self.store,
            self.cache,
            self._player or make_player(self.config),
            self.clock,
            late_grace_s=self.config.late_grace_s,
            on_event=self._publish_event,
            stop=self.stop_event,
            prepare_s=PREPARE_S,
            relay=self.relay,
            mixer=self.mixer,
            default_volume=self.volume,
            on_error=self.note_error,
        )
        self._load_saved_plan()
        self._requeue_commands()
        self.runner.start()
        self.prefetcher = Prefetcher(
            self.cache,
            self.runner.upcoming,
            self.stop_event,
            self.config.prefetch_retry_s,
            max_retry_s=self.config.prefetch_max_retry_s,
            horizon_s=self.config.prefetch_horizon_h * 3600,
            clock=self.clock,
            on_error=self.note_error,
        )
        self.prefetcher.start()
        self.link = MqttLink(self.config, self.store, self.handle_message, self.status)
        self.link.start()
        logger.info(
            "agent for site %s started (outbox %s, plan version %d, keys version %d)",
            self.config.site,
            self.store.outbox_id,
            self.store.plan_version(),
            self.keys_version,
        )

    def stop(self) -> None:
        self.stop_event.set()
        if self.link is not None:
            self.link.stop()
        if self.prefetcher is not None:
            self.prefetcher.join()
        if self.runner is not None:
            self.runner.join()
        self.relay.close()
        if self.store is not None:
            self.store.close()
        logger.info("agent for site %s stopped", self.config.site)

    def healthy(self) -> bool:
        """For the systemd watchdog: every thread that must run does."""
        return bool(
            self.runner
            and self.runner.alive
            and self.prefetcher
            and self.prefetcher.alive
            and self.link
            and self.link.alive
        )

    def _pinned_media(self) -> set[str]:
        shas: set[str] = set()
        if self.prefetcher is not None:
            shas |= {i.media.sha256 for i in self.prefetcher.needed()}
        if self.runner is not None and self.runner.current is not None:
            shas.add(self.runner.current.media.sha256)
        return shas

    def volume(self) -> int | None:
        stored = self.store.volume() if self.store else None
        if stored is not None:
            return stored
        return self.config.default_volume if self.config.default_volume >= 0 else None

    def status(self, state: str) -> Status:
        online = state == "online" and self.store is not None
        offset, synced = health.clock_state() if online else (None, None)
        current = self.runner.current if online and self.runner else None
        return Status(
            site=self.config.site,
            state=state,
            at=self.clock(),
            plan_version=self.store.plan_version() if online and self.store else 0,
            agent_version=__version__,
            detail=f"playing {current.id}" if current else "",
            uptime_s=self.uptime.seconds() if online else None,
            cache_bytes=self.cache.total_bytes() if online and self.cache else None,
            disk_free_bytes=health.disk_free_bytes(self.config.state_dir) if online else None,
            cpu_temp_c=health.cpu_temp_c() if online else None,
            clock_offset_ms=offset,
            clock_synced=synced,
            keys_version=self.keys_version if online else None,
            volume=self.volume() if online else None,
            last_error=self.last_error if online else "",
        )

    # -- messages from the server -------------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes) -> None:
        site = self.config.site
        handlers: dict[str, Callable[[str, bytes], None]] = {
            self.topics.plan(site): lambda t, d: self.handle_plan(d, t),
            self.topics.ack(site): lambda t, d: self.handle_ack(d),
            self.topics.site_cmd(site): lambda t, d: self.handle_command(d, t),
            self.topics.keys(): lambda t, d: self.handle_keys(d),
        }
        handlers.update(
            {
                self.topics.zone_cmd(z): lambda t, d: self.handle_command(d, t)
                for z in self.config.zones
            }
        )
        handler = handlers.get(topic)
        if handler is None:
            logger.warning("message on unexpected topic %s ignored", topic)
            return
        handler(topic, payload)
