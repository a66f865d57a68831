"""Gauges read from the database when Prometheus scrapes: sites by state, and the delivery of
emergencies to their sites. Whichever process answers reads the same rows, so these need no
sharing between processes."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import EmergencyDelivery, Site

SITE_STATES = ("online", "offline", "unknown")
DELIVERY_STATES = ("confirmed", "silent", "pending")


class DatabaseCollector(Collector):
    """``broadcaster_sites{state}`` and ``broadcaster_emergency_deliveries{state}``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = case(
            (EmergencyDelivery.confirmed_at.is_not(None), "confirmed"),
            (EmergencyDelivery.silent_since.is_not(None), "silent"),
            else_="pending",
        )
        with self.sessions() as session:
            sites = {
                name: int(n)
                for name, n in session.execute(
                    select(Site.state, func.count()).group_by(Site.state)
                )
            }
            deliveries = {
                name: int(n)
                for name, n in session.execute(select(state, func.count()).group_by(state))
            }
        g = GaugeMetricFamily(
            "broadcaster_sites", "Sites by the state their agent last reported", labels=["state"]
        )
        for name in sorted(set(SITE_STATES) | set(sites)):
            g.add_metric([name], sites.get(name, 0))
        yield g
        d = GaugeMetricFamily(
            "broadcaster_emergency_deliveries",
            "Emergency commands by site: confirmed by the site's first event, silent past "
            "emergency_resend_after_s (alerted, re-sent), or pending",
            labels=["state"],
        )
        for name in DELIVERY_STATES:
            d.add_metric([name], deliveries.get(name, 0))
        yield d
