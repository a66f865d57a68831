"""Week calendars per zone and per site: slots, airings, relays, emergencies, clashes."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import Emergency, Relay, Slot, User, Zone
from schedules.calendar import site_week, zone_week

from .conftest import AddFn, LoginFn, add_slot, local

MONDAY = date(2027, 3, 1)
NOW = local(2027, 3, 3, 9, 0)  # the Wednesday of that week


@pytest.fixture
def clock_start() -> datetime:
    """The app's clock, at NOW: the data below are pinned to dates."""
    return NOW


def _programme(db: sessionmaker[Session], add_approved: AddFn) -> dict[str, int]:
    with transaction(db) as session:  # the demo's own slots (Bản tin sáng …) out of the way
        session.execute(delete(Slot))
    add_slot(db, "Buổi chiều", time(17, 0), time(17, 10))
    ids = {
        "fits": add_approved(
            local(2027, 3, 2, 16, 0), title="Họp dân", seconds=360, slot="Buổi chiều"
        ).id,
        "overflow": add_approved(
            local(2027, 3, 2, 16, 30), title="Tiêm phòng", seconds=360, slot="Buổi chiều"
        ).id,
        "long": add_approved(local(2027, 3, 3, 9, 0), title="Đọc báo", seconds=3600).id,
        "overlap": add_approved(local(2027, 3, 3, 9, 10), title="Thu thuế", seconds=60).id,
        "moved": add_approved(local(2027, 3, 3, 10, 0, 0), title="Nhắc nhở", seconds=60).id,
        "weekly": add_approved(
            local(2027, 3, 1, 6, 0),
            title="Giảm nghèo",
            seconds=120,
            rrule="FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
        ).id,
        "storm": add_approved(
            local(2027, 3, 5, 14, 0),
            title="Bão số 3",
            seconds=60,
            priority="emergency",
            zones=("thon-1", "thon-2"),
        ).id,
        "other zone": add_approved(local(2027, 3, 4, 8, 0), title="Thôn hai", zones=("thon-2",)).id,
    }
    with transaction(db) as session:
        relay = Relay(
            name="Tiếp sóng VOV1",
            stream_url="https://radio.example/vov1",
            start=time(12, 0),
            duration_s=1800,
        )
        relay.zones = [session.get(Zone, "thon-1")]
        session.add(relay)
        approver = session.query(User).filter_by(username="pheduyet").one()
        session.add(
            Emergency(
                announcement_id=ids["storm"],
                reason="Bão",
                sent_by_id=approver.id,
                sent_at=local(2027, 3, 5, 14, 0),
            )
        )
    return ids


def test_site_week_places_and_marks_clashes(db: sessionmaker[Session], add_approved: AddFn) -> None:
    ids = _programme(db, add_approved)
    with db() as session:
        week = site_week(session, "cum-loa-t1", date(2027, 3, 4))
    assert week.start == MONDAY and [d.day.day for d in week.days] == list(range(1, 8))
    by_title = {}
    for d in week.days:
        for e in d.entries:
            by_title.setdefault(e.title, []).append((d.day, e))
    # slot: one fits, the other overflows the 10-minute window
    ((day, fits),) = by_title["Họp dân"]
    assert (
        day == date(2027, 3, 2) and fits.kind == "airing" and fits.start == local(2027, 3, 2, 17, 0)
    )
    ((_, over),) = by_title["Tiêm phòng"]
    assert over.kind == "clash" and over.clash == "overflow" and over.blocked_by == ("Họp dân",)
    # fixed time: the long item pushes one too far (overlap), one is moved
    ((_, overlap),) = by_title["Thu thuế"]
    assert overlap.kind == "clash" and overlap.clash == "overlap"
    ((_, moved),) = by_title["Nhắc nhở"]
    assert moved.clash == "moved" and moved.start > moved.nominal == local(2027, 3, 3, 10, 0)
    assert moved.blocked_by == ("Đọc báo",)
    # the recurrence: Monday and Thursday at 06:00 local
    assert [(d, e.start) for d, e in by_title["Giảm nghèo"]] == [
        (date(2027, 3, 1), local(2027, 3, 1, 6, 0)),
        (date(2027, 3, 4), local(2027, 3, 4, 6, 0)),
    ]
    assert len(by_title["Tiếp sóng VOV1"]) == 7 and all(
        e.kind == "relay" for _, e in by_title["Tiếp sóng VOV1"]
    )
    ((_, storm),) = by_title["Bão số 3"]
    assert storm.emergency and storm.announcement_id == ids["storm"]
    assert "Thôn hai" not in by_title  # another zone's airing is not on this site
    assert week.clashes == 3
    tuesday = week.days[1]
    # The demo's own slots are there too (Bản tin sáng …): this test's slot is the afternoon's.
    band, inside = next(
        b for b in tuesday.blocks() if b[0] is not None and b[0].name == "Buổi chiều"
    )
    assert [e.title for e in inside] == ["Họp dân", "Tiêm phòng"]


def test_zone_week_merges_sites(db: sessionmaker[Session], add_approved: AddFn) -> None:
    _programme(db, add_approved)
    with db() as session:
        week = zone_week(session, "thon-2", MONDAY)
    assert week.sites == ("cum-loa-t2", "dai-xa")
    entries = [e for d in week.days for e in d.entries]
    storm = [e for e in entries if e.title == "Bão số 3"]
    assert len(storm) == 1 and storm[0].sites == ("cum-loa-t2", "dai-xa")
    # dai-xa serves thon-1 too, so its thon-1 airings show, tagged with that one site
    fits = [e for e in entries if e.title == "Họp dân"]
    assert len(fits) == 1 and fits[0].sites == ("dai-xa",)


def test_calendar_pages(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session], add_approved: AddFn
) -> None:
    _programme(db, add_approved)
    assert client.get("/calendar/").status_code == 302  # login first
    login("canbo")
    index = client.get("/calendar/")
    assert index.status_code == 200 and "/calendar/zone/thon-1" in index.text
    page = client.get("/calendar/site/cum-loa-t1?week=2027-03-03")
    html = page.text
    assert page.status_code == 200
    assert html.count('class="cal-day') == 7
    assert "01/03/2027" in html and "07/03/2027" in html
    assert 'href="/calendar/site/cum-loa-t1?week=2027-02-22"' in html
    assert 'href="/calendar/site/cum-loa-t1?week=2027-03-08"' in html
    assert "3 chỗ trùng lịch" in html
    assert len(re.findall(r'class="cal-entry clash has-clash"', html)) == 2
    assert "Không vừa khung giờ: sẽ không phát" in html
    assert "17:00–17:10 · Buổi chiều" in html
    assert "Tiếp sóng VOV1" in html and 'class="cal-entry emergency' in html
    zone = client.get("/calendar/zone/thon-1?week=2027-03-01")
    assert zone.status_code == 200 and "Xuất lịch (.ics)" in zone.text
    assert client.get("/calendar/zone/nope").status_code == 404
    assert client.get("/calendar/site/dai-xa?week=not-a-date").status_code == 400
