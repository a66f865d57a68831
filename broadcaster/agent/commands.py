"""Deciding on a command from the server: refused when it does not target this site or one of its
zones, comes under a known id with another payload or does not move the command seq forward
(``replayed``), or has expired (``expired``: never acted on); otherwise recorded and acted on.

The same signed command delivered again (through a second zone, the site topic, or the server
re-sending an emergency a site had not confirmed) is acted on once: later copies are logged and
ignored. When the store cannot record a command, a play command is still acted on (remembered
in memory against copies) and the failure is reported."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from broadcaster.clock import Clock
from broadcaster.wire.canonical import canonical_json
from broadcaster.wire.commands import Command
from broadcaster.wire.errors import ProtocolError

from .hardware import AlsaMixer, HardwareError
from .live import live_item
from .reporter import Reporter
from .runner import Runner, Urgent
from .store import StaleError, Store, StoreError
from .trust import Trust

logger = logging.getLogger(__name__)


class CommandHandler:
    """Records each command (against replays) with its event, then plays, stops, sets the
    volume or answers a ping."""

    def __init__(
        self,
        site: str,
        zones: Sequence[str],
        *,
        store: Store,
        runner: Runner,
        mixer: AlsaMixer,
        trust: Trust,
        reporter: Reporter,
        clock: Clock,
    ) -> None:
        self.site = site
        self.zones = list(zones)
        self.store = store
        self.runner = runner
        self.mixer = mixer
        self.trust = trust
        self.reporter = reporter
        self.clock = clock
        self._unrecorded: dict[str, str] = {}  # id → payload of commands the store could not keep

    def requeue(self) -> None:
        """Play-now items accepted before a restart and not handled yet go back in the queue
        (the runner reports those that expired meanwhile)."""
        for body in self.store.accepted_commands("play"):
            try:
                command = Command.from_dict(json.loads(body))
            except (ProtocolError, ValueError) as exc:
                logger.error("saved command unreadable: %s", exc)
                continue
            if command.item is not None and self.runner.item_state(command.item.id) is None:
                self.runner.submit(
                    Urgent(command.item, command.id, command.issued_at, command.expires_at)
                )
                logger.info("play-now item %s from before the restart queued", command.item.id)

    def handle(self, topic: str, data: bytes) -> None:
        payload = self.trust.open(data, topic, "command")
        if payload is None:
            return
        try:
            command = Command.from_dict(payload)
        except ProtocolError as exc:
            # Signed by our server but not a valid command: a server bug, worth an event.
            self.reporter.reject("command", exc.reason, exc.detail)
            return
        self._consider(command, payload, topic)

    def _consider(self, command: Command, payload: dict[str, object], topic: str) -> None:
        cid = command.id
        reject = self.reporter.reject
        if not command.targets(self.site, self.zones):
            targets = ", ".join([*command.sites, *(f"zone {z}" for z in command.zones)])
            reject("command", "wrong-target", f"command {cid} is for {targets}", cid)
            return
        body = canonical_json(payload).decode("utf-8")
        seen = self.store.command(cid)
        if seen is None and cid in self._unrecorded:
            seen = (self._unrecorded[cid], [], "accepted")
        if seen is not None:
            stored, topics, _ = seen
            if stored == body:
                # The same signed command again (another of our zones, the site topic, or a
                # re-send by the server): it was acted on once, and its events are in the outbox.
                if topic not in topics:
                    try:
                        self.store.add_command_topic(cid, topic)
                    except StoreError:
                        pass  # only bookkeeping; the command is known
                logger.info("command %s came again on %s; already handled", cid, topic)
                return
            reject("command", "replayed", f"command {cid} was received before", cid)
            return
        now = self.clock.now()
        item = command.item if command.live is None else live_item(command.live)
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
            if item is not None and item_fields:
                self.runner.mark_handled(item.id)
            logger.warning("command expired: %s", detail)
            try:
                event = self.store.record_command(
                    outcome="expired",
                    advance_seq=False,
                    event_kind="expired",
                    detail=detail,
                    **common,  # type: ignore[arg-type]
                    **item_fields,  # type: ignore[arg-type]
                )
            except StoreError as exc:
                self._unrecorded[cid] = body
                self.reporter.store_failed(f"command {cid} not recorded", exc)
                self.reporter.record("expired", detail=detail, command=cid, **item_fields)
                return
            self.reporter.publish(event)
            return
        if item is not None and state is not None:
            detail = f"{what}: item {item.id} already {state}"
        elif item is not None and command.action == "play":
            detail = f"{what}: {item.priority} item {item.id} plays now"
        elif item is not None and command.live is not None:
            detail = f"{what}: {item.priority} live session {command.live.session} plays now"
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
            reject("command", "replayed", f"command {cid}: {exc}", cid)
            return
        except StoreError as exc:
            # Acted on all the same (an emergency must not wait for a disk): remembered in
            # memory against copies, its events kept in memory until the store writes.
            self._unrecorded[cid] = body
            self.reporter.store_failed(f"command {cid} not recorded; acted on from memory", exc)
            self.reporter.record("received", detail=detail, command=cid, **item_fields)
            self._act(command)
            return
        logger.info("accepted %s (on %s)", detail, topic)
        self.reporter.publish(event)
        self._act(command)

    def _act(self, command: Command) -> None:
        if command.action == "play" and command.item is not None:
            self.runner.submit(
                Urgent(command.item, command.id, command.issued_at, command.expires_at)
            )
        elif command.action == "live" and command.live is not None:
            self.runner.submit(
                Urgent(
                    live_item(command.live),
                    command.id,
                    command.issued_at,
                    command.expires_at,
                    live=command.live,
                )
            )
        elif command.action == "stop":
            stopped = self.runner.stop_playing(command.id, command.item_id, command.reason)
            logger.info("stop command %s: %s", command.id, ", ".join(stopped) or "nothing playing")
        elif command.action == "volume" and command.volume is not None:
            try:
                self.store.set_volume(command.volume)
            except StoreError as exc:
                self.reporter.store_failed(f"volume {command.volume} not saved", exc)
            try:
                self.mixer.set(command.volume)
            except HardwareError as exc:
                logger.error("%s", exc)
                self.reporter.note_error(str(exc))
        if command.action in ("volume", "ping"):
            self.reporter.status_changed()
