"""The announcement form's programme part: campaign, recurrence editor, slot, clash checks."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import Announcement, Campaign
from schedules.recurrence import Recurrence

from .conftest import TZ, AddFn, LoginFn, add_slot, local

NOW = local(2027, 3, 1, 8, 0)


@pytest.fixture
def clock_start() -> datetime:
    """The app's clock, at NOW: the data below are pinned to dates."""
    return NOW


def _tomorrow(hour: int, minute: int = 0) -> datetime:
    t = NOW + timedelta(days=1)
    return t.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Tuyên truyền giảm nghèo",
        "body": "Bà con hộ nghèo đến ủy ban xã để được hướng dẫn vay vốn ưu đãi.",
        "zones": ["thon-1"],
        "priority": "normal",
        "start_at": _tomorrow(9).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return data


def _campaign(db: sessionmaker[Session]) -> int:
    from datetime import date

    with transaction(db) as s:
        c = Campaign(name="Giảm nghèo", starts_on=date(2026, 1, 1), ends_on=date(2030, 1, 1))
        s.add(c)
        s.flush()
        return c.id


def test_recurrence_campaign_and_slot_are_saved(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session]
) -> None:
    cid = _campaign(db)
    slot_id = add_slot(db, "Buổi chiều", time(17, 0), time(17, 30))
    login("bientap")
    page = client.get("/announcements/new")
    assert "Giảm nghèo" in page.text and "Buổi chiều (17:00–17:30)" in page.text
    until = (NOW + timedelta(days=30)).date()
    resp = client.post(
        "/announcements/new",
        data=_form(
            campaign=str(cid),
            recurs="y",
            days=["MO", "TH"],
            interval="1",
            times="06:00, 17h30",
            ends="until",
            until=until.isoformat(),
        ),
    )
    assert resp.status_code == 302, resp.text
    with db() as s:
        ann = s.scalars(select(Announcement)).one()
        item = ann.schedule[0]
        assert ann.campaign_id == cid and item.slot_id is None
        rec = Recurrence.from_rrule(item.rrule)
        assert rec.days == ("MO", "TH") and rec.times == (time(6, 0), time(17, 30))
        assert rec.until == until
        # the first airing is the first chosen time on the chosen day
        assert item.start_at.astimezone(TZ) == _tomorrow(6)
    resp = client.post(
        "/announcements/new",
        data=_form(title="Trong khung", slot=str(slot_id), recurs="y", ends="count", count="4"),
    )
    assert resp.status_code == 302
    with db() as s:
        ann = s.scalars(select(Announcement).where(Announcement.title == "Trong khung")).one()
        assert ann.schedule[0].slot_id == slot_id
        assert ann.schedule[0].rrule == "FREQ=DAILY;COUNT=4"


def test_bad_recurrence_is_explained(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session]
) -> None:
    login("bientap")
    resp = client.post("/announcements/new", data=_form(recurs="y", times="6 giờ"))
    assert resp.status_code == 200 and "Không phải giờ trong ngày: 6" in resp.text
    resp = client.post("/announcements/new", data=_form(recurs="y", ends="count"))
    assert "Hãy nhập số lượt phát." in resp.text
    with db() as s:
        assert s.scalar(select(Announcement)) is None


def test_check_shows_clashes_and_a_free_place_before_saving(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session], add_approved: AddFn
) -> None:
    add_approved(_tomorrow(9), title="Đọc báo sáng", seconds=3600)
    login("bientap")
    resp = client.post(
        "/announcements/new",
        data=_form(start_at=_tomorrow(9, 10).strftime("%Y-%m-%dT%H:%M"), check="y"),
    )
    assert resp.status_code == 200
    html = resp.text
    assert 'id="check-result"' in html and "Trùng với lượt phát khác" in html
    assert "Đọc báo sáng" in html
    # cum-loa-t1 and dai-xa both carry thon-1: the next free time is after the hour-long item
    assert html.count('class="finding-overlap"') == 2
    free = (_tomorrow(10) + timedelta(seconds=2)).strftime("%d/%m/%Y %H:%M:%S")
    assert free in html
    with db() as s:  # nothing saved: only the approved item is there
        assert [a.title for a in s.scalars(select(Announcement))] == ["Đọc báo sáng"]
    clear = client.post(
        "/announcements/new",
        data=_form(start_at=_tomorrow(11).strftime("%Y-%m-%dT%H:%M"), check="y"),
    )
    assert "Không trùng lịch trong 7 ngày tới." in clear.text
    saved = client.post(
        "/announcements/new",
        data=_form(start_at=_tomorrow(9, 10).strftime("%Y-%m-%dT%H:%M")),
        follow_redirects=True,
    )
    assert "Đã lưu, nhưng có 2 lượt phát bị trùng lịch" in saved.text
