"""Campaign pages: create, edit, list, and planned vs achieved airings per zone (the counting
itself is tested in tests/schedules/test_campaigns.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import Campaign, Playback, Zone

from .conftest import AddFn, LoginFn, local

FORM = {
    "name": "Giảm nghèo bền vững 2027",
    "category": "giam-ngheo",
    "description": "Tuyên truyền chương trình mục tiêu quốc gia",
    "starts_on": "2027-03-01",
    "ends_on": "2027-06-30",
    "target_per_week": "3",
    "zones": ["thon-1", "thon-2"],
}
MON_THU = "FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
NOW = local(2027, 3, 3, 9, 0)


@pytest.fixture
def clock_start() -> datetime:
    """The app's clock, at NOW: the data below are pinned to dates."""
    return NOW


def test_create_edit_and_list(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session]
) -> None:
    login("canbo")
    assert client.get("/campaigns/new").status_code == 403
    assert client.get("/campaigns/").status_code == 200
    login("bientap")
    bad = client.post("/campaigns/new", data={**FORM, "ends_on": "2027-02-01"})
    assert bad.status_code == 200 and "Ngày kết thúc phải từ ngày bắt đầu trở đi." in bad.text
    resp = client.post("/campaigns/new", data=FORM)
    assert resp.status_code == 302
    with db() as s:
        c = s.scalars(select(Campaign)).one()
        assert (c.name, c.category, c.target_per_week) == (FORM["name"], "giam-ngheo", 3)
        assert (c.starts_on, c.ends_on) == (date(2027, 3, 1), date(2027, 6, 30))
        assert sorted(z.id for z in c.zones) == ["thon-1", "thon-2"]
        cid = c.id
    edit = client.get(f"/campaigns/{cid}/edit")
    assert 'value="thon-1" checked' in edit.text or "checked" in edit.text
    resp = client.post(
        f"/campaigns/{cid}/edit", data={**FORM, "target_per_week": "5", "zones": ["thon-2"]}
    )
    assert resp.status_code == 302
    with db() as s:
        c = s.get(Campaign, cid)
        assert c.target_per_week == 5 and [z.id for z in c.zones] == ["thon-2"]
    page = client.get("/campaigns/")
    assert FORM["name"] in page.text and "Giảm nghèo bền vững" in page.text
    assert "Thôn 2: 0/5" in page.text


def test_planned_vs_achieved_per_zone(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session], add_approved: AddFn
) -> None:
    with transaction(db) as s:
        c = Campaign(
            name="Giảm nghèo",
            category="giam-ngheo",
            starts_on=date(2027, 3, 1),
            ends_on=date(2027, 6, 30),
            target_per_week=3,
        )
        c.zones = list(s.scalars(select(Zone).where(Zone.id.in_(["thon-1", "thon-2"]))))
        s.add(c)
        s.flush()
        cid = c.id
    weekly = add_approved(
        local(2027, 3, 1, 6, 0), rrule=MON_THU, campaign_id=cid, zones=("thon-1",)
    )
    add_approved(local(2027, 3, 9, 6, 0), campaign_id=cid, zones=("thon-1",))  # next week
    add_approved(local(2027, 3, 2, 7, 0), zones=("thon-1", "thon-2"))  # not in the campaign
    item = weekly.schedule[0]
    monday = item.occurrence_id(local(2027, 3, 1, 6, 0))
    thursday = item.occurrence_id(local(2027, 3, 4, 6, 0))
    with transaction(db) as s:
        for site, item_id, when, status in [
            ("cum-loa-t1", monday, local(2027, 3, 1, 6, 0), "finished"),
            ("dai-xa", monday, local(2027, 3, 1, 6, 0), "finished"),  # same airing: counts once
            ("cum-loa-t1", thursday, local(2027, 3, 4, 6, 0), "failed"),
            ("dai-xa", thursday, local(2027, 3, 4, 6, 0), "finished"),
            ("cum-loa-t1", "s999-1", local(2027, 2, 25, 6, 0), "finished"),  # another week
        ]:
            s.add(
                Playback(
                    site_id=site,
                    item_id=item_id,
                    announcement_id=weekly.id,
                    scheduled_at=when,
                    status=status,
                )
            )
    login("canbo")
    page = client.get(f"/campaigns/{cid}?week=2027-03-04")
    assert page.status_code == 200
    assert 'href="/campaigns/1?week=2027-02-22"' in page.text
    row = page.text.split('data-zone="thon-1"')[1].split("</tr>")[0]
    assert '"scheduled">2' in row and '"achieved">2' in row and "67%" in row
    assert "thấp hơn chỉ tiêu" in row
    assert weekly.title in page.text
    nxt = client.get(f"/campaigns/{cid}?week=2027-03-08")
    row = nxt.text.split('data-zone="thon-1"')[1].split("</tr>")[0]
    assert '"scheduled">3' in row and '"achieved">0' in row
    assert client.get(f"/campaigns/{cid}?week=bad").status_code == 400
    assert client.get("/campaigns/999").status_code == 404
    assert (date(2027, 3, 8) - timedelta(days=7)).isoformat() == "2027-03-01"
