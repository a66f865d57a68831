"""Per-site limits at ingest (broadcaster.ingest_limits) on a fake monotonic clock; the real
flood, through a real broker, is tests/fault/test_site_flood.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from broadcaster.ingest_limits import SiteLimits, SiteLogLimit, SiteSubscriptions
from broadcaster.wire.topics import Topics

T = Topics()


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_per_site_bursts_then_keeps_the_rate(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    floods: list[str] = []
    limits = SiteLimits(T, rate=2, burst=5, monotonic=ticks, on_flood=floods.append, flood_after=3)
    a, b = T.events("a"), T.events("b")
    assert [limits.admit(a) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limits.admit(b) and limits.admit(T.status("b"))  # another site is not touched
    assert limits.admit("loa/v1/server/plans-mark")  # no site: not limited
    assert "site a over its limit" in caplog.text and "1 dropped" in caplog.text
    assert not limits.admit(a) and floods == ["a"]  # three dropped in a row: it floods
    ticks.now += 1.0  # two tokens back
    assert [limits.admit(a) for _ in range(3)] == [True, True, False]
    caplog.clear()
    ticks.now += 10.0
    limits.admit(a)
    for _ in range(10):
        limits.admit(a)  # drops after the refill: one line for the window
    assert caplog.text.count("over its limit") == 1


def test_site_log_limit_keeps_a_few_lines_per_site_and_counts_the_rest() -> None:
    ticks = Ticks()
    logger = logging.getLogger("test.site_log_limit")
    logger.propagate = False
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    SiteLogLimit(T).install(logger)
    limit = SiteLogLimit(T, lines=2, every_s=10, monotonic=ticks).install(logger)  # replaces it
    assert logger.filters == [limit]
    for n in range(6):
        logger.warning("event on %s rejected: %d", T.events("a"), n)
    logger.warning("event on %s rejected: %d", T.events("b"), 0)
    logger.warning("no site here")
    assert seen == [
        "event on loa/v1/sites/a/events rejected: 0",
        "event on loa/v1/sites/a/events rejected: 1",
        "event on loa/v1/sites/b/events rejected: 0",
        "no site here",
    ]
    ticks.now += 10
    logger.warning("event on %s rejected: %d", T.events("a"), 6)
    assert (
        seen[-1]
        == "event on loa/v1/sites/a/events rejected: 6 (and 4 more lines about site a left out)"
    )
    limit.uninstall()
    assert logger.filters == []


class FakeLink:
    """The part of ``broadcaster.mqtt.Link`` SiteSubscriptions uses."""

    def __init__(self) -> None:
        self.on_connect: Callable[[bool], None] | None = None
        self.subscriptions: dict[str, Any] = {}
        self.client = self
        self.unsubscribed: list[Any] = []

    def subscribe(self, topic: str, handler: Any) -> None:
        self.subscriptions[topic] = handler

    def unsubscribe(self, topic: Any) -> None:
        if isinstance(topic, str):
            self.subscriptions.pop(topic, None)
        self.unsubscribed.append(topic)


def test_a_flooding_site_is_left_out_at_the_broker_for_longer_each_time() -> None:
    ticks = Ticks()
    link = FakeLink()
    sites = ["a", "b"]
    subs = SiteSubscriptions(
        link,  # type: ignore[arg-type]
        T,
        lambda t, p: None,
        lambda t, p: None,
        lambda: list(sites),
        quarantine_s=30,
        monotonic=ticks,
    )
    subs.sync()
    every = {T.events(s) for s in sites} | {T.status(s) for s in sites}
    assert set(link.subscriptions) == every
    subs.quarantine("a")
    assert set(link.subscriptions) == {T.events("b"), T.status("b")}
    assert subs.quarantined() == ["a"]
    subs.sync()  # a quarantined site waits
    assert T.events("a") not in link.subscriptions
    ticks.now += 29
    assert subs.release_due() == []
    ticks.now += 1
    assert subs.release_due() == ["a"] and set(link.subscriptions) == every
    subs.quarantine("a")  # again: twice as long
    ticks.now += 59
    assert subs.release_due() == []
    ticks.now += 1
    assert subs.release_due() == ["a"]
    sites.remove("b")  # a site removed from the database
    subs.sync()
    assert set(link.subscriptions) == {T.events("a"), T.status("a")}
    assert link.on_connect is not None
    link.on_connect(True)  # a persistent session's old wildcards are dropped on connect
    assert link.unsubscribed[-1][:2] == [T.all_events(), T.all_status()]
