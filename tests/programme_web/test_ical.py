"""The per-zone iCalendar export, parsed back with the icalendar package."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import Relay, Zone

from .conftest import TZ, AddFn, LoginFn, add_slot, local

WEEKLY = "FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=1,4;UNTIL=20270331T235959"
NOW = local(2027, 2, 26, 10, 0)


@pytest.fixture
def clock_start() -> datetime:
    """The app's clock, at NOW: the data below are pinned to dates."""
    return NOW


def test_zone_ics_parses_with_events_times_and_rrule(
    client: FlaskClient, login: LoginFn, db: sessionmaker[Session], add_approved: AddFn
) -> None:
    one_off = add_approved(local(2027, 3, 2, 9, 15), title="Họp dân", seconds=90)
    weekly = add_approved(local(2027, 3, 1, 6, 0), title="Giảm nghèo", seconds=120, rrule=WEEKLY)
    add_approved(local(2027, 3, 2, 9, 0), title="Thôn hai", zones=("thon-2",))
    storm = add_approved(
        local(2027, 3, 5, 14, 0), title="Bão số 3", priority="emergency", zones=("thon-1", "thon-2")
    )
    add_slot(db, "Buổi chiều", time(17, 0), time(17, 30))
    tomorrow = (
        (NOW + timedelta(days=1)).astimezone(TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    )
    slotted = add_approved(tomorrow, title="Trong khung giờ", slot="Buổi chiều")
    with transaction(db) as session:
        relay = Relay(
            name="Tiếp sóng VOV1",
            stream_url="https://radio.example/vov1",
            start=time(12, 0),
            duration_s=1800,
            days="SA,SU",
        )
        relay.zones = [session.get(Zone, "thon-1")]
        session.add(relay)

    login("bientap")
    resp = client.get("/calendar/zone/thon-1.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert 'filename="thon-1.ics"' in resp.headers["Content-Disposition"]
    cal = Calendar.from_ical(resp.data)
    assert str(cal["X-WR-CALNAME"]) == "Thôn 1"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Họp dân", "Giảm nghèo", "Bão số 3", "Trong khung giờ", "Tiếp sóng VOV1"}

    e = events["Họp dân"]
    assert e.decoded("DTSTART") == local(2027, 3, 2, 9, 15)
    assert e["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert e.decoded("DTEND") - e.decoded("DTSTART") == timedelta(seconds=90)
    assert str(e["UID"]) == f"s{one_off.schedule[0].id}@127.0.0.1"
    assert "RRULE" not in e

    e = events["Giảm nghèo"]
    rrule = e["RRULE"]
    assert rrule["FREQ"] == ["DAILY"] and rrule["BYDAY"] == ["MO", "TH"]
    assert rrule["BYHOUR"] == [6, 17] and rrule["BYSETPOS"] == [1, 4]
    start = e.decoded("DTSTART")
    rule = rrulestr(e["RRULE"].to_ical().decode(), dtstart=start.replace(tzinfo=None))
    first = [t.replace(tzinfo=TZ) for t in rule[:4]]
    assert first == [
        local(2027, 3, 1, 6, 0),
        local(2027, 3, 1, 17, 30),
        local(2027, 3, 4, 6, 0),
        local(2027, 3, 4, 17, 30),
    ]
    assert str(e["UID"]) == f"s{weekly.schedule[0].id}@127.0.0.1"

    e = events["Bão số 3"]
    assert e["PRIORITY"] == 1 and "Khẩn cấp" in e["CATEGORIES"].to_ical().decode()
    assert e.decoded("DTSTART") == local(2027, 3, 5, 14, 0)
    assert str(e["UID"]) == f"s{storm.schedule[0].id}@127.0.0.1"

    e = events["Trong khung giờ"]  # "in the next slot": the real airing, in the 17:00 window
    assert e.decoded("DTSTART") == tomorrow.replace(hour=17, minute=0)
    assert str(e["UID"]).startswith(f"s{slotted.schedule[0].id}-")

    e = events["Tiếp sóng VOV1"]
    assert e["RRULE"]["FREQ"] == ["WEEKLY"] and e["RRULE"]["BYDAY"] == ["SA", "SU"]
    assert e.decoded("DTSTART").time() == time(12, 0)
    assert e.decoded("DTSTART").strftime("%a") in ("Sat", "Sun")
    assert e.decoded("DTEND") - e.decoded("DTSTART") == timedelta(minutes=30)


def test_ics_needs_login_and_a_known_zone(client: FlaskClient, login: LoginFn) -> None:
    assert client.get("/calendar/zone/thon-1.ics").status_code == 302
    login("canbo")
    assert client.get("/calendar/zone/nope.ics").status_code == 404
    cal = Calendar.from_ical(client.get("/calendar/zone/thon-2.ics").data)
    assert cal.walk("VEVENT") == []
