"""``GET /metrics`` for Prometheus, for a request bearing ``metrics_token`` (empty: 404).

Under gunicorn each worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (as
deploy/gunicorn.conf.py does) the workers write their counters to files there and any worker
answering a scrape sums them all (prometheus_client's multiprocess mode). The database gauges
(``broadcaster.metrics.database``) are read at scrape time by whichever worker answers.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable

from flask import Blueprint, Flask, Response, abort, g, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from broadcaster.metrics.database import DatabaseCollector
from web.services import services

bp = Blueprint("metrics", __name__)

REQUESTS = Counter(
    "broadcaster_web_requests",
    "Web requests answered, by endpoint and status code",
    ["endpoint", "status"],
)
REQUEST_SECONDS = Histogram("broadcaster_web_request_seconds", "Time to answer a web request")


def multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    token = services().settings.metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), token.encode()):
        abort(401)
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(DatabaseCollector(services().sessions))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Default(Collector):
    """This process's own registry, inside the scrape's registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            REQUEST_SECONDS.observe(time.perf_counter() - started)
        REQUESTS.labels(request.endpoint or "none", str(response.status_code)).inc()
        return response
