"""Per-site limits at ingest: one site flooding cannot delay the others' events.

Two layers. At the broker (a lone ingest worker, ``ingest_group = ""``): ingest subscribes to
each site's events and status by name (``SiteSubscriptions``), so a site that floods is left out
there for a while (its messages are
dropped by the broker, in C, instead of queueing in ingest's session ahead of everyone else's:
one connection is one ordered stream, and no Python client drains a determined flood as fast as
it comes). At arrival: every message from a site takes a token from that site's bucket before
anything else is done with it: no parsing, no queueing, no database (a batch of events takes a
token per event it may carry, ``broadcaster.wire.batches.cost_bound``: the budget is in events).
A site over its limit has its excess dropped on arrival; that costs it nothing it cannot get
back, because an agent resends
every event until it is acknowledged (``resend_after_s``), and its next heartbeat replaces a
dropped status. The drops are logged once per ``log_every_s`` per site ("site X over its limit,
N dropped"), and ``SiteLogLimit`` keeps ingest's own lines about one site (a rejected message,
say) to a few per ``log_every_s``, so a flood cannot grow the server's log either.

The broker bounds the rest (``broadcaster.broker``: packet size, in-flight and queued messages
per client), and the agents' ACL lets a site write only its own two topics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from broadcaster.mqtt import Handler, Link
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

LOG_EVERY_S = 10.0
QUARANTINE_S = 30.0  # a flooding site's first time out; doubled each time it floods again
MAX_QUARANTINE_S = 300.0
FORGIVE_AFTER_S = 3600.0  # a site quiet this long starts again from QUARANTINE_S
SYNC_EVERY_S = 60.0  # how often the list of sites is read again


@dataclass
class _Bucket:
    tokens: float
    updated: float
    dropped: int = 0
    in_a_row: int = 0  # dropped since the last admitted message
    reported: float = float("-inf")  # when the last "over its limit" line was logged


@dataclass
class SiteLimits:
    """A token bucket per site: ``rate`` events (or statuses) a second, bursts up to ``burst``."""

    topics: Topics
    rate: float
    burst: int
    log_every_s: float = LOG_EVERY_S
    monotonic: Callable[[], float] = time.monotonic
    # Called (on the network thread) when a site has had ``flood_after`` messages dropped in a
    # row: it floods (``SiteSubscriptions.quarantine``).
    on_flood: Callable[[str], None] | None = None
    flood_after: int = 100
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate {self.rate} and burst {self.burst} must be positive")

    def admit(self, topic: str, cost: int = 1) -> bool:
        """Whether the message on ``topic`` may go on, taking ``cost`` tokens (a batch of
        events takes one per event: the budget counts events, not messages; at most ``burst``,
        so a batch always fits a full bucket); a message whose topic names no site (the
        server's own, say) is not limited."""
        site = self.topics.site_from(topic)
        if site is None:
            return True
        now = self.monotonic()
        with self._lock:
            bucket = self._buckets.get(site)
            if bucket is None:
                bucket = self._buckets[site] = _Bucket(float(self.burst), now)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
            )
            bucket.updated = now
            need = float(max(1, min(cost, self.burst)))
            admitted = bucket.tokens >= need
            if admitted:
                bucket.tokens -= need
                bucket.in_a_row = 0
            else:
                bucket.dropped += 1
                bucket.in_a_row += 1
            flood = bucket.in_a_row == self.flood_after
            report = bucket.dropped and now - bucket.reported >= self.log_every_s
            if report:
                dropped, bucket.dropped, bucket.reported = bucket.dropped, 0, now
        if report:
            logger.warning(
                "site %s over its limit (%g messages/s, bursts of %d), %d dropped; "
                "its agent resends what matters",
                site,
                self.rate,
                self.burst,
                dropped,
            )
        if flood and self.on_flood is not None:
            self.on_flood(site)
        return admitted

    def dropped(self, site: str) -> int:
        """Drops not logged yet (for tests and metrics)."""
        with self._lock:
            bucket = self._buckets.get(site)
            return bucket.dropped if bucket else 0


class SiteLogLimit(logging.Filter):
    """A logger filter: at most ``lines`` WARNING-or-worse records about one site (a topic of
    that site among the record's arguments) per ``every_s``; the rest are counted and reported
    in one line when the next window opens. Records about no site pass."""

    def __init__(
        self,
        topics: Topics,
        lines: int = 5,
        every_s: float = LOG_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.topics = topics
        self.lines = lines
        self.every_s = every_s
        self.monotonic = monotonic
        self._windows: dict[str, list[float]] = {}  # site -> [window start, passed, suppressed]
        self._logger: logging.Logger | None = None
        self._lock = threading.Lock()

    def _site(self, record: logging.LogRecord) -> str | None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, str) and (site := self.topics.site_from(arg)) is not None:
                return site
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        site = self._site(record)
        if site is None:
            return True
        now = self.monotonic()
        with self._lock:
            window = self._windows.setdefault(site, [now, 0, 0])
            suppressed = 0
            if now - window[0] >= self.every_s:
                suppressed = int(window[2])
                window[:] = [now, 0, 0]
            window[1] += 1
            passed = window[1] <= self.lines
            if not passed:
                window[2] += 1
        if suppressed:
            record.msg = f"{record.msg} (and {suppressed} more lines about site {site} left out)"
        return passed

    def install(self, logger: logging.Logger) -> SiteLogLimit:
        """Attach to ``logger`` (replacing an earlier one: a restarted part does not stack
        filters); ``uninstall`` when the part stops."""
        for old in [f for f in logger.filters if isinstance(f, SiteLogLimit)]:
            logger.removeFilter(old)
        logger.addFilter(self)
        self._logger = logger
        return self

    def uninstall(self) -> None:
        if self._logger is not None:
            self._logger.removeFilter(self)
            self._logger = None


@dataclass
class SiteSubscriptions:
    """A lone ingest worker's subscriptions, two per site (events, status) by name;
    ``quarantine`` leaves a flooding site out at the broker for a while. Build it before the
    link starts. (Workers sharing a group keep its one shared filter: Mosquitto 2.0 hands an
    offline member its share of every filter, so per-site shared filters could park one site's
    events on a dead worker.)"""

    link: Link
    topics: Topics
    on_event: Handler
    on_status: Handler
    sites: Callable[[], list[str]]  # the sites to subscribe to (read again every SYNC_EVERY_S)
    quarantine_s: float = QUARANTINE_S
    monotonic: Callable[[], float] = time.monotonic
    _subscribed: set[str] = field(default_factory=set)
    _until: dict[str, float] = field(default_factory=dict)  # quarantined site -> until
    _strikes: dict[str, tuple[int, float]] = field(default_factory=dict)  # site -> (n, last)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.link.on_connect is not None:
            raise ValueError("SiteSubscriptions needs the link's on_connect callback")
        self.link.on_connect = self._on_connect

    def _topics(self, site: str) -> list[tuple[str, Handler]]:
        return [
            (self.topics.events(site), self.on_event),
            (self.topics.status(site), self.on_status),
        ]

    def sync(self) -> None:
        """Subscribe to new sites, unsubscribe from removed ones (quarantined ones wait)."""
        wanted = set(self.sites())
        with self._lock:
            add = sorted(wanted - self._subscribed - set(self._until))
            remove = sorted(self._subscribed - wanted)
            self._subscribed |= set(add)
            self._subscribed -= set(remove)
        for site in add:
            for topic, handler in self._topics(site):
                self.link.subscribe(topic, handler)
        for site in remove:
            for topic, _ in self._topics(site):
                self.link.unsubscribe(topic)

    def quarantine(self, site: str) -> None:
        """Leave ``site`` out at the broker: QUARANTINE_S, doubled for a repeat offender."""
        now = self.monotonic()
        with self._lock:
            if site in self._until or site not in self._subscribed:
                return
            strikes, last = self._strikes.get(site, (0, now))
            strikes = 1 if now - last > FORGIVE_AFTER_S else strikes + 1
            self._strikes[site] = (strikes, now)
            seconds = min(self.quarantine_s * 2 ** (strikes - 1), MAX_QUARANTINE_S)
            self._until[site] = now + seconds
            self._subscribed.discard(site)
        logger.warning(
            "site %s floods ingest: left out at the broker for %.0f s (time %d); "
            "its agent resends its events afterwards",
            site,
            seconds,
            strikes,
        )
        for topic, _ in self._topics(site):
            self.link.unsubscribe(topic)

    def release_due(self) -> list[str]:
        """Subscribe again to the sites whose time out is over; returns them."""
        now = self.monotonic()
        with self._lock:
            due = sorted(s for s, until in self._until.items() if until <= now)
            for site in due:
                del self._until[site]
        if due:
            logger.info("sites %s taken back after their time out", ", ".join(due))
            self.sync()
        return due

    def quarantined(self) -> list[str]:
        with self._lock:
            return sorted(self._until)

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._run, name="ingest-sites", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        synced = self.monotonic()
        while not self._stop.wait(1.0):
            try:
                self.release_due()
                if self.monotonic() - synced >= SYNC_EVERY_S:
                    synced = self.monotonic()
                    self.sync()
            except Exception:  # the next round tries again
                logger.exception("updating ingest's site subscriptions failed")

    def _on_connect(self, _session_present: bool) -> None:
        """A persistent session may still hold the wildcard filters of an older ingest, or a
        quarantined site's topics if it was away when the site was left out: drop them."""
        with self._lock:
            left_out = [t for site in self._until for t, _ in self._topics(site)]
        self.link.client.unsubscribe(
            [self.topics.all_events(), self.topics.all_status(), *left_out]
        )
