"""The "Hôm nay" dashboard: on air now, next today, waiting for approval, sites offline; each
within the user's units."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock
from broadcaster.models import Playback, Site
from tests.web.test_web_announcements import _draft_and_submit


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section class="card[^"]*" id="today-{name}">(.*?)</section>', page, re.S)
    assert found, f"no {name} section"
    return found.group(1)


def test_each_user_sees_their_units_day(
    client: FlaskClient, auth, db: sessionmaker[Session], clock: Clock
) -> None:
    dh = _draft_and_submit(client, auth, "bientap-dh")  # waits in Đắk Hà
    approved = _draft_and_submit(client, auth, "bientap-dh")
    auth.login("pheduyet-dh")
    start = auth.local_input(timedelta(hours=3))
    assert (
        client.post(f"/announcements/{approved}/approve", data={"start_at": start}).status_code
        == 302
    )
    auth.logout()
    now = clock.now()
    with db() as s, s.begin():
        s.add(
            Playback(
                site_id="cum-loa-t1",
                item_id="s-live-1",
                scheduled_at=now - timedelta(minutes=2),
                started_at=now - timedelta(minutes=2),
                status="started",
                updated_at=now,
            )
        )
        site = s.get(Site, "cum-loa-t2")
        assert site is not None
        site.state, site.state_at = "offline", now - timedelta(hours=2)

    auth.login("pheduyet-dh")
    page = client.get("/today/").get_data(as_text=True)
    assert "Hôm nay" in page
    assert "Cụm loa thôn 1 - ngã ba chợ" in _section(page, "on-air")
    assert f"/announcements/{approved}" in _section(page, "next") and start[-5:] in _section(
        page, "next"
    )
    waiting = _section(page, "waiting")
    assert f"/announcements/{dh}" in waiting and '<span class="badge">1</span>' in waiting
    assert "Cụm loa thôn 2 - nhà văn hóa" in _section(page, "sites")
    auth.logout()

    auth.login("pheduyet-dm")  # the other commune: none of it
    page = client.get("/today/").get_data(as_text=True)
    assert "Không có gì đang phát." in _section(page, "on-air")
    assert f"/announcements/{approved}" not in page and f"/announcements/{dh}" not in page
    assert "Cụm loa thôn 2" not in page
