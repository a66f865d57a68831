"""The planner with the programme: recurring items, slots, relays, validity, priorities."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from broadcaster.models import Campaign, Relay, Zone
from schedules.planner import PAST_GRACE, materialize, site_plans
from schedules.recurrence import to_utc

from .conftest import make_slot

VN = "Asia/Ho_Chi_Minh"
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 07:00 in Vietnam
H48 = timedelta(hours=48)


def local(day: int, hh: int, mm: int = 0) -> datetime:
    return (
        to_utc(datetime(2026, 11, day, hh, mm), VN)
        if day <= 30
        else to_utc(datetime(2026, 12, day - 30, hh, mm), VN)
    )


def test_recurring_item_airs_every_day_with_stable_ids(session, add_approved) -> None:
    ann = add_approved(local(30, 17), rrule="FREQ=DAILY;BYHOUR=17;BYMINUTE=0;BYSECOND=0")
    items = materialize(session, NOW, H48, "http://srv")["cum-loa-t1"]
    assert [i.start for i in items] == [local(30, 17), local(31, 17)]
    later = materialize(session, NOW + timedelta(hours=20), H48, "http://srv")["cum-loa-t1"]
    assert later[0].id == items[1].id  # the same airing keeps its id
    assert all(i.announcement_id == ann.id for i in later)


def test_validity_end_drops_an_announcement_from_every_plan(session, add_approved) -> None:
    add_approved(local(30, 17), rrule="FREQ=DAILY", valid_until=local(30, 18))
    plans = materialize(session, NOW, H48, "http://srv")
    assert len(plans["cum-loa-t1"]) == 1 and len(plans["dai-xa"]) == 1
    plans = materialize(session, local(31, 8), H48, "http://srv")
    assert all(items == [] for items in plans.values())


def test_slot_items_are_packed_by_priority_campaign_and_approval(session, add_approved) -> None:
    evening = make_slot(session, "Buổi chiều", "17:00", "17:30")
    campaign = Campaign(
        name="Giảm nghèo",
        category="giam-ngheo",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        target_per_week=3,
    )
    session.add(campaign)
    session.flush()
    early = add_approved(local(30, 8), slot=evening, seconds=300, decided_at=NOW)
    late = add_approved(
        local(30, 8), slot=evening, seconds=300, decided_at=NOW + timedelta(minutes=5)
    )
    in_campaign = add_approved(
        local(30, 8),
        slot=evening,
        seconds=300,
        campaign_id=campaign.id,
        decided_at=NOW + timedelta(minutes=9),
    )
    urgent = add_approved(
        local(30, 8),
        slot=evening,
        seconds=300,
        priority="priority",
        decided_at=NOW + timedelta(minutes=10),
    )
    plan = site_plans(session, NOW, NOW + timedelta(hours=24))["cum-loa-t1"]
    order = [p.candidate.payload.announcement.id for p in plan.placed]
    assert order == [urgent.id, in_campaign.id, early.id, late.id]
    assert plan.placed[0].start == local(30, 17)
    assert all(p.end <= local(30, 17, 30) for p in plan.placed)
    assert plan.clashes == []


def test_slot_overflow_is_reported_and_not_aired(session, add_approved) -> None:
    morning = make_slot(session, "Buổi sáng", "06:00", "06:10")
    a = add_approved(local(30, 5), slot=morning, seconds=400)
    b = add_approved(local(30, 5), slot=morning, seconds=400)
    plan = site_plans(session, NOW - timedelta(hours=3), NOW + timedelta(hours=1))["cum-loa-t1"]
    assert [p.candidate.payload.announcement.id for p in plan.placed] == [a.id]
    assert [(c.kind, c.key.split("-")[0]) for c in plan.clashes] == [
        ("overflow", f"s{b.schedule[0].id}")
    ]


def test_next_slot_skips_days_the_slot_is_off(session, add_approved) -> None:
    weekend = make_slot(session, "Cuối tuần", "08:00", "08:30", days="SA,SU")
    add_approved(local(30, 9), slot=weekend)  # Monday → next Saturday 5 Dec
    plan = site_plans(session, NOW, NOW + timedelta(days=8))["cum-loa-t1"]
    assert [p.start for p in plan.placed] == [local(35, 8)]


def test_fixed_items_that_collide_are_moved_after_each_other(session, add_approved) -> None:
    a = add_approved(local(30, 9), seconds=120, decided_at=NOW)
    b = add_approved(local(30, 9), seconds=120, decided_at=NOW + timedelta(seconds=1))
    items = materialize(session, NOW, H48, "http://srv")["cum-loa-t1"]
    assert [i.announcement_id for i in items] == [a.id, b.id]
    assert items[1].start >= items[0].start + timedelta(seconds=120)


def test_relays_block_time_but_emergencies_ignore_them(session, add_approved) -> None:
    relay = Relay(name="VOV1", stream_url="http://r", start=time(9, 0), duration_s=1800)
    relay.zones = [session.get(Zone, "thon-1")]
    session.add(relay)
    normal = add_approved(local(30, 9, 10), seconds=60)
    alarm = add_approved(local(30, 9, 5), seconds=60, priority="emergency")
    plan = site_plans(session, NOW, NOW + timedelta(hours=12))["cum-loa-t1"]
    starts = {p.candidate.payload.announcement.id: p.start for p in plan.placed}
    assert starts[alarm.id] == local(30, 9, 5)
    assert starts[normal.id] >= local(30, 9, 30)
    assert len(plan.relays) == 1


def test_unapproved_recurring_items_never_reach_a_plan(session, add_approved) -> None:
    add_approved(local(30, 17), rrule="FREQ=DAILY", status="submitted")
    plans = materialize(session, NOW - PAST_GRACE, H48, "http://srv")
    assert all(items == [] for items in plans.values())
