"""The metrics the ingest and scheduler processes keep, and the listener that serves them.

Each such process serves its own registry on its own port (``ingest_metrics_port``,
``scheduler_metrics_port``; 0 = off), as prometheus_client's ``start_http_server`` does. The
web's gunicorn workers use prometheus_client's multiprocess mode instead (``web/metrics``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

EVENTS_STORED = Counter(
    "broadcaster_ingest_events_stored",
    "Playback events stored by this ingest process (duplicates not counted)",
)
INGEST_QUEUE = Gauge(
    "broadcaster_ingest_queue_depth",
    "Events and statuses received from MQTT and not yet stored by this ingest process",
)
PLAN_PUBLISH_SECONDS = Histogram(
    "broadcaster_plan_publish_seconds",
    "Time to publish one signed site plan until the broker acknowledged it (QoS 1)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SCHEDULER_LEADING = Gauge(
    "broadcaster_scheduler_leading",
    "1 while this process holds the scheduler lock, 0 while it waits as a standby",
)


@dataclass
class MetricsListener:
    """``/metrics`` of this process's default registry on ``host:port``."""

    host: str
    port: int
    name: str = "metrics"

    def start(self) -> None:
        server, thread = start_http_server(self.port, self.host)
        self.server: Any = server
        self.thread: threading.Thread = thread
        logger.info("metrics on http://%s:%d/metrics", self.host, self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
