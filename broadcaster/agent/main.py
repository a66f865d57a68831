"""The agent process: composes store, media cache, player, runner and MQTT link, and decides
what to do with each message from the server.

Server→agent messages must carry a valid signature from a trusted key. A plan is also refused
when it is for another site, expired, or not newer than the current one; each refusal is logged
and reported as a "rejected" event, and nothing from it is played.
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
from broadcaster.wire.messages import Ack, Event, Plan, Status
from broadcaster.wire.signing import Verifier
from broadcaster.wire.topics import Topics

from .config import AgentConfig, ConfigError
from .fetch import MediaCache, Prefetcher
from .mqtt import MqttLink
from .players import FilePlayer, MpvPlayer, Player
from .runner import Clock, Runner
from .store import Store

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_player(config: AgentConfig) -> Player:
    if config.player == "file":
        return FilePlayer(Path(config.output_dir))
    return MpvPlayer()


class Agent:
    """One site's agent. ``start`` brings the parts up in order; ``stop`` takes them down in
    reverse."""

    def __init__(
        self, config: AgentConfig, *, clock: Clock = utc_now, player: Player | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.topics = Topics(config.topic_root)
        self.verifier = Verifier(list(config.trusted_keys))
        self.stop_event = threading.Event()
        self._player = player
        self._lock = threading.Lock()  # plan decisions happen one at a time
        self.store: Store | None = None
        self.runner: Runner | None = None
        self.prefetcher: Prefetcher | None = None
        self.link: MqttLink | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        state = self.config.state_path
        state.mkdir(parents=True, exist_ok=True)
        self.store = Store(state / "agent.sqlite3", self.config.site)
        cache = MediaCache(state / "media", self.config.http_timeout_s, self.store)
        self.runner = Runner(
            self.store,
            cache,
            self._player or make_player(self.config),
            self.clock,
            late_grace_s=self.config.late_grace_s,
            on_event=self._publish_event,
            stop=self.stop_event,
        )
        self._load_saved_plan()
        self.runner.start()
        self.prefetcher = Prefetcher(cache, self.runner.upcoming, self.stop_event)
        self.prefetcher.start()
        self.link = MqttLink(self.config, self.store, self.handle_message, self.status)
        self.link.start()
        logger.info(
            "agent for site %s started (outbox %s, plan version %d)",
            self.config.site,
            self.store.outbox_id,
            self.store.plan_version(),
        )

    def stop(self) -> None:
        self.stop_event.set()
        if self.link is not None:
            self.link.stop()
        if self.prefetcher is not None:
            self.prefetcher.join()
        if self.runner is not None:
            self.runner.join()
        if self.store is not None:
            self.store.close()
        logger.info("agent for site %s stopped", self.config.site)

    def _load_saved_plan(self) -> None:
        assert self.store is not None and self.runner is not None
        saved = self.store.plan()
        if saved is None:
            return
        try:
            self.runner.set_plan(Plan.from_dict(json.loads(saved[1])))
        except (ProtocolError, ValueError) as exc:
            logger.error("saved plan version %d is unreadable: %s", saved[0], exc)

    def status(self, state: str) -> Status:
        version = self.store.plan_version() if self.store and state == "online" else 0
        return Status(
            site=self.config.site,
            state=state,
            at=self.clock(),
            plan_version=version,
            agent_version=__version__,
        )

    # -- messages from the server -------------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes) -> None:
        site = self.config.site
        handlers: dict[str, Callable[[bytes], None]] = {
            self.topics.plan(site): self.handle_plan,
            self.topics.ack(site): self.handle_ack,
            self.topics.site_cmd(site): self.handle_command,
        }
        handlers.update({self.topics.zone_cmd(z): self.handle_command for z in self.config.zones})
        handler = handlers.get(topic)
        if handler is None:
            logger.warning("message on unexpected topic %s ignored", topic)
            return
        handler(payload)

    def handle_plan(self, data: bytes) -> None:
        try:
            payload = self.verifier.open(data)
        except ProtocolError as exc:
            if exc.reason == "malformed":
                logger.warning("malformed plan message ignored: %s", exc)
            else:
                self._reject(exc.reason, exc.detail)
            return
        try:
            plan = Plan.from_dict(payload)
        except ProtocolError as exc:
            logger.warning("plan ignored, wrong schema: %s", exc)
            return
        with self._lock:
            self._consider_plan(plan, payload)

    def _consider_plan(self, plan: Plan, payload: dict[str, object]) -> None:
        assert self.store is not None and self.runner is not None
        if plan.site != self.config.site:
            self._reject("wrong-site", f"plan v{plan.version} is for site {plan.site!r}")
            return
        now = self.clock()
        if plan.expires_at < now:
            self._reject("expired", f"plan v{plan.version} expired at {plan.expires_at:%c} UTC")
            return
        body = canonical_json(payload).decode("utf-8")
        saved = self.store.plan()
        if saved is not None and plan.version <= saved[0]:
            if plan.version == saved[0] and saved[1] == body:
                # The retained plan comes again after every (re)subscribe: nothing to report.
                logger.debug("plan v%d already current", plan.version)
            elif plan.version == saved[0]:
                self._reject("replayed", f"plan v{plan.version} differs from the current one")
            else:
                self._reject("stale", f"plan v{plan.version} is older than v{saved[0]}")
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

    def handle_command(self, data: bytes) -> None:
        try:
            payload = self.verifier.open(data)
        except ProtocolError as exc:
            logger.warning("command ignored: %s", exc)
            return
        logger.warning("command %r not supported by this agent yet; ignored", payload.get("type"))

    def _reject(self, reason: str, detail: str) -> None:
        assert self.store is not None
        logger.warning("plan rejected (%s): %s", reason, detail)
        event = self.store.append_event(
            "rejected", self.clock(), detail=f"{reason}: {detail}" if detail else reason
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
        while not stop.wait(1.0):
            pass
    finally:
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
