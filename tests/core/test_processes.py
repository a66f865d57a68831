"""Process parts: the alerts part raises site-health alerts on its own schedule."""

from __future__ import annotations

import time
from datetime import timedelta

from broadcaster.models import Site, SiteAlert
from broadcaster.processes import build_parts, start_parts, stop_parts


def test_alerts_part_raises_an_offline_alert(settings, db, clock) -> None:
    with db() as s, s.begin():
        s.add(
            Site(
                id="cum-loa-t1",
                name="Cụm loa thôn 1",
                state="offline",
                state_at=clock.now() - timedelta(hours=2),
            )
        )
    settings = settings.replace(alert_check_interval_s=0.1, alert_offline_after_s=60)
    parts = start_parts(build_parts(settings, ["alerts"], clock))
    try:
        deadline = time.monotonic() + 10
        alerts: list[SiteAlert] = []
        while time.monotonic() < deadline and not alerts:
            time.sleep(0.1)
            with db() as s:
                alerts = list(s.query(SiteAlert).filter_by(site_id="cum-loa-t1"))
    finally:
        stop_parts(parts)
    assert [a.kind for a in alerts] == ["offline"]
