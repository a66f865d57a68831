"""Server-side commands to agents: play now (emergency / priority), stop, volume, ping.

One signed :class:`~broadcaster.wire.commands.Command` is published, QoS 1 and not retained, to
the command topic of every zone and site it targets (``…/zones/<zone>/cmd``,
``…/sites/<site>/cmd``): one publish per zone reaches every site of that zone. A site reached by
two of the targets gets the same command twice and acts on it once.

Agents answer through the event outbox: ``received`` when they accept a command, then the usual
``started``/``finished``/``interrupted``… for a played item, or ``expired``/``rejected``. Every
such event carries the command's id in ``Event.command``.

Sequence numbers are ``max(last + 1, now in ms)`` and are allocated and published under one lock,
so within one process they reach each agent in increasing order. Issue commands from one process
(the web app), or pass a ``seq_source`` that allocates from the database *and* publish in that
order; an agent refuses a command whose seq is not above the last it accepted.

This module imports only the wire protocol and the Publisher seam, so it is usable from any
server process.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from broadcaster.clock import SYSTEM_CLOCK, Clock
from broadcaster.publisher import Publisher
from broadcaster.wire.commands import MAX_COMMAND_TTL, Command
from broadcaster.wire.live import LiveStream
from broadcaster.wire.plan import Media, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics, valid_id

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(minutes=10)


class CommandError(ValueError):
    """The command cannot be issued as asked (no target, bad id, ttl out of range…)."""


def play_now_item(
    *,
    announcement_id: int,
    title: str,
    media: Media,
    priority: str = "emergency",
    start: datetime,
    occurrence_id: str | None = None,
    volume: int | None = None,
) -> PlanItem:
    """The item of a play-now command, due at ``start`` (now, by the caller's clock).

    Pass ``occurrence_id`` (with the occurrence's ``start``) when the announcement also has an
    occurrence in the plan: the agent then plays it once, whichever of plan and command comes
    first. Otherwise the item gets a fresh id ``now-<uuid>``.
    """
    return PlanItem(
        id=occurrence_id or f"now-{uuid.uuid4().hex[:24]}",
        start=start,
        title=title,
        announcement_id=announcement_id,
        priority=priority,
        media=media,
        volume=volume,
    )


class CommandPublisher:
    """Signs and publishes commands. Thread-safe: one instance per process.

    ``clock`` stamps each command (issued, expires, seq); processes pass theirs. The wall-clock
    default is for callers that hold none yet (the web app's services).
    """

    def __init__(
        self,
        signer: Signer,
        publisher: Publisher,
        topics: Topics,
        clock: Clock = SYSTEM_CLOCK,
        *,
        seq_source: Callable[[datetime], int] | None = None,
    ) -> None:
        self.signer = signer
        self.publisher = publisher
        self.topics = topics
        self.clock = clock
        self._seq_source = seq_source
        self._last_seq = 0
        self._lock = threading.Lock()

    # -- the API ------------------------------------------------------------------------------

    def play_now(
        self,
        *,
        zones: Iterable[str] = (),
        sites: Iterable[str] = (),
        item: PlanItem,
        reason: str = "",
        ttl: timedelta = DEFAULT_TTL,
    ) -> Command:
        """Play ``item`` at once at every targeted site. ``item.priority`` decides: emergency
        interrupts whatever plays; priority and normal play as soon as the current item ends."""
        return self._issue("play", zones, sites, reason, ttl, item=item)

    def live(
        self,
        *,
        zones: Iterable[str] = (),
        sites: Iterable[str] = (),
        live: LiveStream,
        reason: str = "",
        ttl: timedelta = timedelta(minutes=2),
    ) -> Command:
        """Play a live session's stream at once (``live.priority``: an emergency interrupts
        whatever plays). A site that gets the command after ``ttl`` does not join."""
        return self._issue("live", zones, sites, reason, ttl, live=live)

    def stop(
        self,
        *,
        zones: Iterable[str] = (),
        sites: Iterable[str] = (),
        item_id: str | None = None,
        reason: str = "",
        ttl: timedelta = DEFAULT_TTL,
    ) -> Command:
        """Stop ``item_id`` (or, without it, whatever plays now and every queued play-now item).
        The plan carries on with its next item."""
        return self._issue("stop", zones, sites, reason, ttl, item_id=item_id)

    def set_volume(
        self,
        *,
        volume: int,
        zones: Iterable[str] = (),
        sites: Iterable[str] = (),
        reason: str = "",
        ttl: timedelta = DEFAULT_TTL,
    ) -> Command:
        """Set the sites' default volume (0..100) for items without their own."""
        return self._issue("volume", zones, sites, reason, ttl, volume=volume)

    def ping(
        self,
        *,
        zones: Iterable[str] = (),
        sites: Iterable[str] = (),
        ttl: timedelta = timedelta(minutes=1),
    ) -> Command:
        """Ask agents to answer with a ``received`` event (end-to-end reachability)."""
        return self._issue("ping", zones, sites, "", ttl)

    # -- internals ----------------------------------------------------------------------------

    def next_seq(self, now: datetime) -> int:
        if self._seq_source is not None:
            seq = self._seq_source(now)
        else:
            seq = int(now.timestamp() * 1000)
        seq = max(self._last_seq + 1, seq)
        self._last_seq = seq
        return seq

    def _issue(
        self,
        action: str,
        zones: Iterable[str],
        sites: Iterable[str],
        reason: str,
        ttl: timedelta,
        **fields: Any,
    ) -> Command:
        zones_t = tuple(dict.fromkeys(zones))
        sites_t = tuple(dict.fromkeys(sites))
        if not zones_t and not sites_t:
            raise CommandError("a command needs at least one zone or site")
        for target in (*zones_t, *sites_t):
            if not valid_id(target):
                raise CommandError(f"{target!r} is not a zone or site id")
        if not timedelta(0) < ttl <= MAX_COMMAND_TTL:
            raise CommandError(f"ttl must be more than 0 and at most {MAX_COMMAND_TTL}")
        with self._lock:  # seq order == publish order within this process
            now = self.clock.now()
            item = fields.get("item")
            if item is not None and item.start.tzinfo is None:
                raise CommandError("item.start must be timezone-aware")
            command = Command(
                id=str(uuid.uuid4()),
                seq=self.next_seq(now),
                action=action,
                issued_at=now,
                expires_at=now + ttl,
                sites=sites_t,
                zones=zones_t,
                reason=reason[:500],
                **fields,
            )
            try:
                command.validate()
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            data = self.signer.sign(command.to_dict())
            topics = [self.topics.zone_cmd(z) for z in zones_t]
            topics += [self.topics.site_cmd(s) for s in sites_t]
            for topic in topics:
                self.publisher.publish(topic, data, qos=1, retain=False)
        logger.info(
            "command %s %s (seq %d) to zones %s sites %s%s",
            command.id,
            action,
            command.seq,
            ",".join(zones_t) or "-",
            ",".join(sites_t) or "-",
            f": {reason}" if reason else "",
        )
        return command
