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

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from broadcaster import __version__
from broadcaster.wire.canonical import canonical_json
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Command, Event, KeysUpdate, Plan, Status
from broadcaster.wire.signing import Verifier, key_id
from broadcaster.wire.topics import Topics

from . import health, sdnotify
from .config import AgentConfig, ConfigError
from .fetch import MediaCache, Prefetcher
from .hardware import AlsaMixer, GpioRelay, HardwareError, NoRelay, Relay
from .mqtt import MqttLink
from .players import AplayPlayer, FilePlayer, MpvPlayer, Player
from .runner import Clock, Runner, Urgent
from .store import StaleError, Store

logger = logging.getLogger(__name__)

PREPARE_S = 2.0  # verify media and set the volume this long before a start
MAX_HELD = 16  # messages signed by a key not (yet) trusted, kept to retry after a keys update


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


class Agent:
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

    def _load_saved_plan(self) -> None:
        assert self.store is not None and self.runner is not None
        saved = self.store.plan()
        if saved is None:
            return
        try:
            self.runner.set_plan(Plan.from_dict(json.loads(saved[1])))
        except (ProtocolError, ValueError) as exc:
            logger.error("saved plan version %d is unreadable: %s", saved[0], exc)

    def _load_trusted_keys(self) -> None:
        """The list learnt from the server (signed, newer) wins over the config's bootstrap."""
        assert self.store is not None
        learnt = self.store.trusted_keys()
        if learnt is not None:
            self.keys_version, keys = learnt
            self.verifier = Verifier(keys)

    def _requeue_commands(self) -> None:
        """Play-now items accepted before a restart and not handled yet go back in the queue
        (the runner reports those that expired meanwhile)."""
        assert self.store is not None and self.runner is not None
        for body in self.store.accepted_commands("play"):
            try:
                command = Command.from_dict(json.loads(body))
            except (ProtocolError, ValueError) as exc:
                logger.error("saved command unreadable: %s", exc)
                continue
            assert command.item is not None
            if self.runner.item_state(command.item.id) is None:
                self.runner.submit(
                    Urgent(command.item, command.id, command.issued_at, command.expires_at)
                )
                logger.info("play-now item %s from before the restart queued", command.item.id)

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

    def note_error(self, message: str) -> None:
        self.last_error = f"{self.clock():%Y-%m-%dT%H:%M:%SZ} {message}"[:500]

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

    def _open(self, data: bytes, topic: str, what: str) -> dict[str, object] | None:
        """Verify a signed envelope; report a refusal (and hold messages signed by a key not
        trusted yet, to retry after a keys update)."""
        try:
            return self.verifier.open(data)
        except ProtocolError as exc:
            if exc.reason == "malformed":
                logger.warning("malformed %s message ignored: %s", what, exc)
                return None
            if exc.reason == "unknown-key":
                with self._lock:
                    self._held[topic] = data
                    while len(self._held) > MAX_HELD:
                        self._held.pop(next(iter(self._held)))
            self._reject(what, exc.reason, exc.detail)
            return None

    def handle_plan(self, data: bytes, topic: str = "") -> None:
        payload = self._open(data, topic or self.topics.plan(self.config.site), "plan")
        if payload is None:
            return
        try:
            plan = Plan.from_dict(payload)
        except ProtocolError as exc:
            # Signed by a trusted key but not a valid plan: a server bug, worth an event.
            logger.warning("plan ignored, wrong schema: %s", exc)
            self._reject("plan", exc.reason, exc.detail)
            return
        with self._lock:
            self._consider_plan(plan, payload)

    def _consider_plan(self, plan: Plan, payload: dict[str, object]) -> None:
        assert self.store is not None and self.runner is not None
        if plan.site != self.config.site:
            self._reject("plan", "wrong-site", f"plan v{plan.version} is for site {plan.site!r}")
            return
        now = self.clock()
        if plan.expires_at < now:
            self._reject(
                "plan", "expired", f"plan v{plan.version} expired at {plan.expires_at:%c} UTC"
            )
            return
        body = canonical_json(payload).decode("utf-8")
        saved = self.store.plan()
        if saved is not None and plan.version <= saved[0]:
            if plan.version == saved[0] and saved[1] == body:
                # The retained plan comes again after every (re)subscribe: nothing to report.
                logger.debug("plan v%d already current", plan.version)
            elif plan.version == saved[0]:
                self._reject(
                    "plan", "replayed", f"plan v{plan.version} differs from the current one"
                )
            else:
                self._reject("plan", "stale", f"plan v{plan.version} is older than v{saved[0]}")
            return
        self.store.save_plan(plan.version, body, now)
        self.runner.set_plan(plan)
        if self.prefetcher is not None:
            self.prefetcher.kick()
        logger.info("accepted plan v%d with %d item(s)", plan.version, len(plan.items))
        if self.link is not None:
            self.link.publish_status("online")  # tells the server which version is live

    def handle_ack(self, data: bytes) -> None:
        assert self.store is not None
        try:
            ack = Ack.from_dict(self.verifier.open(data))
        except ProtocolError as exc:
            logger.warning("ack ignored: %s", exc)
            return
        if ack.site != self.config.site or ack.outbox != self.store.outbox_id:
            logger.warning("ack ignored: for site %s outbox %s, not ours", ack.site, ack.outbox)
            return
        deleted = self.store.ack(ack.seq)
        logger.info("ack up to seq %d: %d event(s) removed from the outbox", ack.seq, deleted)

    # -- commands -----------------------------------------------------------------------------

    def handle_command(self, data: bytes, topic: str = "") -> None:
        topic = topic or self.topics.site_cmd(self.config.site)
        payload = self._open(data, topic, "command")
        if payload is None:
            return
        try:
            command = Command.from_dict(payload)
        except ProtocolError as exc:
            # Signed by our server but not a valid command: a server bug, worth an event.
            self._reject("command", exc.reason, exc.detail)
            return
        with self._lock:
            self._consider_command(command, payload, topic)

    def _consider_command(self, command: Command, payload: dict[str, object], topic: str) -> None:
        assert self.store is not None and self.runner is not None
        cid = command.id
        if not command.targets(self.config.site, self.config.zones):
            targets = ", ".join([*command.sites, *(f"zone {z}" for z in command.zones)])
            self._reject("command", "wrong-target", f"command {cid} is for {targets}", cid)
            return
        body = canonical_json(payload).decode("utf-8")
        seen = self.store.command(cid)
        if seen is not None:
            stored, topics, _ = seen
            if stored == body and topic not in topics:
                # The same command through another of our zones (or the site topic): act once.
                self.store.add_command_topic(cid, topic)
                logger.info("command %s also came on %s; already handled", cid, topic)
                return
            self._reject("command", "replayed", f"command {cid} was received before", cid)
            return
        now = self.clock()
        item = command.item
        state = self.runner.item_state(item.id) if item is not None else None
        item_fields: dict[str, object] = {}
        if item is not None and state is None:
            item_fields = {
                "item_id": item.id,
                "announcement_id": item.announcement_id,
                "scheduled_at": item.start,
            }
        what = f"command {cid} ({command.action}{' ' + command.reason if command.reason else ''})"
        common = {
            "command_id": cid,
            "seq": command.seq,
            "action": command.action,
            "expires_at": command.expires_at,
            "topic": topic,
            "payload_json": body,
            "now": now,
            "command": cid,
        }
        if command.expires_at <= now:
            detail = f"{what} expired at {command.expires_at:%Y-%m-%d %H:%M:%S} UTC"
            if item_fields:
                # the item is reported expired and never plays here, not even from the plan
                item_fields["mark_handled"] = True
            event = self.store.record_command(
                outcome="expired",
                advance_seq=False,
                event_kind="expired",
                detail=detail,
                **common,  # type: ignore[arg-type]
                **item_fields,  # type: ignore[arg-type]
            )
            if item_fields:
                self.runner.mark_handled(item.id)  # type: ignore[union-attr]
            logger.warning("command expired: %s", detail)
            self._publish_event(event)
            return
        if state is not None:
            detail = f"{what}: item {item.id} already {state}"  # type: ignore[union-attr]
        elif command.action == "play":
            detail = f"{what}: {item.priority} item {item.id} plays now"  # type: ignore[union-attr]
        elif command.action == "volume":
            detail = f"{what}: volume {command.volume}"
        else:
            detail = what
        try:
            event = self.store.record_command(
                outcome="accepted",
                advance_seq=True,
                event_kind="received",
                detail=detail,
                **common,  # type: ignore[arg-type]
                **item_fields,  # type: ignore[arg-type]
            )
        except StaleError as exc:
            self._reject("command", "replayed", f"command {cid}: {exc}", cid)
            return
        logger.info("accepted %s", detail)
        self._publish_event(event)
        self._act(command)

    def _act(self, command: Command) -> None:
        assert self.runner is not None and self.store is not None
        if command.action == "play" and command.item is not None:
            self.runner.submit(
                Urgent(command.item, command.id, command.issued_at, command.expires_at)
            )
        elif command.action == "stop":
            stopped = self.runner.stop_playing(command.id, command.item_id, command.reason)
            logger.info("stop command %s: %s", command.id, ", ".join(stopped) or "nothing playing")
        elif command.action == "volume" and command.volume is not None:
            self.store.set_volume(command.volume)
            if self.mixer is not None:
                try:
                    self.mixer.set(command.volume)
                except HardwareError as exc:
                    logger.error("%s", exc)
                    self.note_error(str(exc))
        if self.link is not None and command.action in ("volume", "ping"):
            self.link.publish_status("online")

    # -- trusted keys -------------------------------------------------------------------------

    def handle_keys(self, data: bytes) -> None:
        assert self.store is not None
        payload = self._open(data, self.topics.keys(), "keys")
        if payload is None:
            return
        try:
            update = KeysUpdate.from_dict(payload)
        except ProtocolError as exc:
            self._reject("keys", exc.reason, exc.detail)
            return
        with self._lock:
            current = self.store.trusted_keys()
            if current is not None and update.version <= current[0]:
                if update.version == current[0] and list(update.keys) == current[1]:
                    logger.debug("trusted keys v%d already current", update.version)
                else:
                    self._reject(
                        "keys", "stale", f"keys v{update.version} is not newer than v{current[0]}"
                    )
                return
            if update.expires_at < self.clock():
                self._reject("keys", "expired", f"keys v{update.version} has expired")
                return
            kids = ", ".join(key_id(k) for k in update.keys)
            event = self.store.save_trusted_keys(
                update.version,
                list(update.keys),
                f"trusted keys v{update.version}: {kids}",
                self.clock(),
            )
            self.verifier = Verifier(list(update.keys))
            self.keys_version = update.version
            held, self._held = self._held, {}
        logger.info("trusted keys updated to v%d: %s", update.version, kids)
        self._publish_event(event)
        if self.link is not None:
            self.link.publish_status("online")
        for topic, message in held.items():  # e.g. a plan signed by the new key came first
            if topic != self.topics.keys():
                logger.info("retrying the message on %s held for an unknown key", topic)
                self.handle_message(topic, message)

    # -- events -------------------------------------------------------------------------------

    def _reject(self, what: str, reason: str, detail: str, command: str | None = None) -> None:
        assert self.store is not None
        logger.warning("%s rejected (%s): %s", what, reason, detail)
        self.note_error(f"{what} rejected ({reason})")
        event = self.store.append_event(
            "rejected",
            self.clock(),
            detail=f"{reason}: {what}: {detail}" if detail else f"{reason}: {what}",
            command=command,
        )
        self._publish_event(event)

    def _publish_event(self, event: Event) -> None:
        if self.link is not None:
            self.link.publish_event(event)


# -- process entry point ----------------------------------------------------------------------


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paho").setLevel(logging.WARNING)


def run(config_path: str | Path) -> int:
    """Run an agent until SIGINT/SIGTERM; return the process exit code."""
    setup_logging()
    try:
        config = AgentConfig.load(config_path)
    except (ConfigError, OSError) as exc:
        logger.error("bad config: %s", exc)
        return 2
    agent = Agent(config)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d received; stopping", signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        agent.start()
        sdnotify.notify(f"READY=1\nSTATUS=site {config.site}")
        interval = sdnotify.watchdog_interval_s()
        if interval:
            sdnotify.Watchdog(agent.healthy, stop, interval).start()
            logger.info("pinging the systemd watchdog every %.1f s", interval)
        while not stop.wait(1.0):
            pass
    finally:
        sdnotify.notify("STOPPING=1")
        agent.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="broadcaster agent", description=__doc__)
    parser.add_argument("--config", required=True, help="agent TOML config file")
    parser.add_argument(
        "--check-config", action="store_true", help="validate the config file and exit"
    )
    args = parser.parse_args(argv)
    if args.check_config:
        setup_logging()
        try:
            AgentConfig.load(args.config)
        except (ConfigError, OSError) as exc:
            logger.error("bad config: %s", exc)
            return 2
        logger.info("config %s is valid", args.config)
        return 0
    return run(args.config)
