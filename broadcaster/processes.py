"""Process composition: which parts run in `serve`, `web`, `scheduler` and `ingest`.

This is the composition root, the one place that reaches up the data flow (web, schedules);
it imports them inside functions so that ``broadcaster`` itself stays importable on a Pi.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from broadcaster.clock import Clock, SystemClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.exit_status import ExitStatus
from broadcaster.ingest import Ingestor, IngestWorker, ingest_client_id
from broadcaster.ingest_limits import SiteLimits, SiteLogLimit, SiteSubscriptions
from broadcaster.keys import following_signer
from broadcaster.metrics.process import INGEST_QUEUE, SCHEDULER_LEADING, MetricsListener
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.nats_cluster import subject
from broadcaster.nats_queue import NatsQueue, parse_servers
from broadcaster.plans_mark import PlansMark
from broadcaster.publish import PlanPublisher
from broadcaster.signals import StopSignals
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)


class Part(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class WebPart:
    settings: Settings
    clock: Clock
    name: str = "web"

    def start(self) -> None:
        from waitress import create_server

        from web import create_app

        self.app = create_app(self.settings, clock=self.clock)
        self.server: Any = create_server(
            self.app, host=self.settings.web_host, port=self.settings.web_port, threads=8
        )
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)
        self.thread.start()
        logger.info("web listening on http://%s:%d", self.settings.web_host, self.settings.web_port)

    def stop(self) -> None:
        self.server.close()
        self.thread.join(5)
        self.app.extensions["broadcaster"].close()


@dataclass
class SchedulerPart:
    settings: Settings
    clock: Clock
    name: str = "scheduler"

    def start(self) -> None:
        from datetime import timedelta

        from schedules.runtime import SchedulerRuntime

        # Publishes only (retained plans): a clean session under an id of its own. Its mark
        # tells it, on every connect, whether the broker lost the retained plans.
        self.conn = Link(self.settings.mqtt_options(), unique_client_id("scheduler"))
        mark = PlansMark(self.conn, Topics(self.settings.topic_root))
        self.conn.start(wait=10.0)
        self.engine = make_engine(self.settings.database_url)
        plans = PlanPublisher(
            signer=following_signer(self.settings.signing_key_file),
            publisher=self.conn,
            topics=Topics(self.settings.topic_root),
            horizon=timedelta(hours=self.settings.plan_horizon_hours),
        )
        self.runtime = SchedulerRuntime(
            self.settings, session_factory(self.engine), plans, self.clock, mark=mark
        )
        self.runtime.start()

    def stop(self) -> None:
        self.runtime.stop()
        self.conn.stop()
        self.engine.dispose()  # closes the pooled connections (PostgreSQL warns otherwise)


@dataclass
class AlertsPart:
    """Site-health alerts every ``alert_check_interval_s``; runs beside the one scheduler."""

    settings: Settings
    clock: Clock
    name: str = "alerts"

    def start(self) -> None:
        from broadcaster.alerts import Notifier, Thresholds

        self.engine = make_engine(self.settings.database_url)
        self.factory = session_factory(self.engine)
        self.thresholds = Thresholds.from_settings(self.settings)
        self.notifier = Notifier.from_settings(self.settings)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="alerts", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from broadcaster.alerts import check

        while not self.stopping.wait(self.settings.alert_check_interval_s):
            try:
                check(self.factory, self.thresholds, self.notifier, self.clock.now())
            except Exception:  # the next round retries
                logger.exception("alert check failed")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.engine.dispose()


@dataclass
class IngestPart:
    settings: Settings
    clock: Clock
    name: str = "ingest"

    def start(self) -> None:
        topics = Topics(self.settings.topic_root)
        # A lone worker keeps a persistent session under its stable id: events wait on the
        # broker while it restarts. Workers sharing a group take clean sessions: Mosquitto keeps
        # giving a disconnected persistent member its share of the group's events, so a killed
        # or retired worker would park a third of every resend until its session expired
        # (docs/decisions.md); the others store what the agents resend (they resend until acked).
        self.conn = Link(
            self.settings.mqtt_options(),
            ingest_client_id(self.settings.ingest_worker),
            persistent=not self.settings.ingest_group,
        )
        self.engine = make_engine(self.settings.database_url)
        ingestor = Ingestor(
            factory=session_factory(self.engine),
            signer=following_signer(self.settings.signing_key_file),
            publisher=self.conn,
            topics=topics,
            clock=self.clock,
        )
        # Per-site limits (broadcaster.ingest_limits): a token bucket per site on arrival, and,
        # for a lone worker (ingest_group ""), each site's topics by name so that a flooding
        # site is left out at the broker. Workers sharing events keep the group's one shared
        # filter: Mosquitto 2.0 gives an offline member its share of each filter, and a filter
        # per site can park one site's events on a dead worker for good (docs/decisions.md).
        limits = SiteLimits(topics, self.settings.ingest_site_rate, self.settings.ingest_site_burst)
        self.log_limit = SiteLogLimit(topics).install(logging.getLogger("broadcaster.ingest"))
        self.worker = IngestWorker(ingestor, limits=limits)
        INGEST_QUEUE.set_function(self.worker.queue_depth)
        self.sites: SiteSubscriptions | None = None
        self.queue: NatsQueue | None = None
        if self.settings.ingest_nats_servers:
            # A NATS cluster (no MQTT shared subscriptions): the events through NATS's queue
            # group, statuses as below (docs/decisions.md, "Ingest workers on NATS").
            self.queue = NatsQueue(
                parse_servers(self.settings.ingest_nats_servers),
                self.settings.ingest_group,
                subject(topics.all_events()),
                self.worker.on_event,
                user=self.settings.mqtt_username,
                password=self.settings.mqtt_password,
                ca_file=self.settings.mqtt_ca_file,
                name=ingest_client_id(self.settings.ingest_worker),
            )
            self.conn.subscribe(topics.all_status(), self.worker.on_status)
        elif self.settings.ingest_group:
            self.conn.subscribe(
                topics.shared(self.settings.ingest_group, topics.all_events()),
                self.worker.on_event,
            )
            self.conn.subscribe(topics.all_status(), self.worker.on_status)
        else:
            self.sites = SiteSubscriptions(
                self.conn, topics, self.worker.on_event, self.worker.on_status, self._site_ids
            )
            limits.on_flood = self.sites.quarantine
            self.sites.start()
        self.worker.start()
        self.conn.start(wait=10.0)
        if self.queue is not None and not self.queue.start(wait=10.0):
            logger.warning("NATS not reached yet; events wait until it is")

    def _site_ids(self) -> list[str]:
        from sqlalchemy import select

        from broadcaster.models import Site

        with session_factory(self.engine)() as session:
            return list(session.scalars(select(Site.id)))

    def stop(self) -> None:
        if self.sites is not None:
            self.sites.stop()
        if self.queue is not None:
            self.queue.stop()
        self.conn.stop()
        self.worker.stop()
        self.engine.dispose()
        self.log_limit.uninstall()


@dataclass
class LeaderPart:
    """Parts of which exactly one may run per installation (the scheduler and its alerts): they
    start once this process holds the scheduler lock (``broadcaster.leader``) and stop if it is
    lost. Until then the process is a hot standby and says so in its log."""

    settings: Settings
    inner: list[Part]
    name: str = "leader"

    def start(self) -> None:
        from broadcaster.leader import Leadership, lock_for

        self.started: list[Part] = []
        self.leadership = Leadership(
            lock_for(self.settings.database_url),
            on_elected=self._elected,
            on_deposed=self._deposed,
            poll_s=self.settings.scheduler_lock_poll_s,
        )
        self.leadership.start()

    def _elected(self) -> None:
        self.started = start_parts(self.inner)
        SCHEDULER_LEADING.set(1)

    def _deposed(self) -> None:
        SCHEDULER_LEADING.set(0)
        stop_parts(self.started)
        self.started = []

    def stop(self) -> None:
        self.leadership.stop()


PARTS: dict[str, Callable[[Settings, Clock], Part]] = {
    "web": WebPart,
    "scheduler": SchedulerPart,
    "alerts": AlertsPart,
    "ingest": IngestPart,
}


# Parts that run only in the process holding the scheduler lock.
SINGLETONS = ("scheduler", "alerts")


def build_parts(settings: Settings, names: Iterable[str], clock: Clock) -> list[Part]:
    """The named parts; the singletons among them (scheduler, alerts) together behind one
    ``LeaderPart``, in the place of the first of them."""
    parts: list[Part] = []
    singles: list[Part] = []
    for n in names:
        part = PARTS[n](settings, clock)
        if n in SINGLETONS:
            if not singles:
                parts.append(LeaderPart(settings, singles))
            singles.append(part)
        else:
            parts.append(part)
    return parts


def metrics_listeners(settings: Settings, names: Iterable[str]) -> list[Part]:
    """This process's /metrics listener: on ``scheduler_metrics_port`` when it runs the
    scheduler, else on ``ingest_metrics_port`` when it runs ingest (0 = none)."""
    names = set(names)
    port = 0
    if "scheduler" in names:
        port = settings.scheduler_metrics_port
    elif "ingest" in names:
        port = settings.ingest_metrics_port
    return [MetricsListener(settings.metrics_host, port)] if port else []


def start_parts(parts: list[Part]) -> list[Part]:
    """Start in order; if one fails, stop those already started and re-raise."""
    started: list[Part] = []
    try:
        for part in parts:
            part.start()
            started.append(part)
    except Exception:
        stop_parts(started)
        raise
    return started


def stop_parts(parts: list[Part]) -> None:
    for part in reversed(parts):
        try:
            part.stop()
        except Exception:
            logger.exception("stopping %s failed", part.name)


def run_until_signalled(settings: Settings, names: Iterable[str]) -> int:
    """Migrate, start the named parts on the wall clock, wait for SIGINT/SIGTERM, stop in
    reverse order."""
    with StopSignals() as signals:
        upgrade(settings.database_url)
        names = list(names)
        parts = start_parts(
            metrics_listeners(settings, names) + build_parts(settings, names, SystemClock())
        )
        try:
            signals.wait()
        finally:
            logger.info("stopping")
            stop_parts(parts)
    return ExitStatus.OK
