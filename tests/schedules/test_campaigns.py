"""Campaigns: create and edit them (validated), and planned vs achieved airings per zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from broadcaster.models import Campaign, Playback
from schedules.campaigns import CampaignFields, create_campaign, update_campaign, week_progress
from schedules.workflow import WorkflowError

from .conftest import AddFn

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MON_THU = "FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
FIELDS = CampaignFields(
    name="  Giảm nghèo bền vững 2027 ",
    category="giam-ngheo",
    description="Tuyên truyền chương trình mục tiêu quốc gia ",
    starts_on=date(2027, 3, 1),
    ends_on=date(2027, 6, 30),
    target_per_week=3,
    zone_ids=("thon-1", "thon-2"),
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_create_then_update_a_campaign(session: Session) -> None:
    c = create_campaign(session, FIELDS)
    assert c.id is not None
    assert (c.name, c.description) == ("Giảm nghèo bền vững 2027", FIELDS.description.strip())
    assert (c.starts_on, c.ends_on, c.target_per_week) == (date(2027, 3, 1), date(2027, 6, 30), 3)
    assert sorted(z.id for z in c.zones) == ["thon-1", "thon-2"]
    update_campaign(
        session, c, CampaignFields(**{**FIELDS.__dict__, "target_per_week": 5, "zone_ids": ()})
    )
    assert session.get(Campaign, c.id).target_per_week == 5 and c.zones == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": "   "}, "campaign-name-empty"),
        ({"ends_on": date(2027, 2, 1)}, "campaign-ends-before-start"),
        ({"zone_ids": ("thon-1", "nowhere")}, "unknown-zones"),
    ],
)
def test_a_bad_campaign_is_refused_by_code(session: Session, change: dict, code: str) -> None:
    with pytest.raises(WorkflowError) as refused:
        create_campaign(session, CampaignFields(**{**FIELDS.__dict__, **change}))
    assert refused.value.code == code
    assert session.query(Campaign).count() == 0


def test_planned_vs_achieved_per_zone(session: Session, add_approved: AddFn) -> None:
    c = create_campaign(session, FIELDS)
    weekly = add_approved(local(2027, 3, 1, 6, 0), rrule=MON_THU, campaign_id=c.id)
    add_approved(local(2027, 3, 9, 6, 0), campaign_id=c.id)  # next week
    add_approved(local(2027, 3, 2, 7, 0), zones=("thon-1", "thon-2"))  # not in the campaign
    item = weekly.schedule[0]
    monday = item.occurrence_id(local(2027, 3, 1, 6, 0))
    thursday = item.occurrence_id(local(2027, 3, 4, 6, 0))
    for site, item_id, when, status in [
        ("cum-loa-t1", monday, local(2027, 3, 1, 6, 0), "finished"),
        ("dai-xa", monday, local(2027, 3, 1, 6, 0), "finished"),  # same airing: counts once
        ("cum-loa-t1", thursday, local(2027, 3, 4, 6, 0), "failed"),
        ("dai-xa", thursday, local(2027, 3, 4, 6, 0), "finished"),
        ("cum-loa-t1", "s999-1", local(2027, 2, 25, 6, 0), "finished"),  # another week
    ]:
        session.add(
            Playback(
                site_id=site,
                item_id=item_id,
                announcement_id=weekly.id,
                scheduled_at=when,
                status=status,
            )
        )
    session.flush()
    rows = week_progress(session, c, date(2027, 3, 3))  # any day of the week
    # dai-xa also serves thon-2, but the announcement aimed at thon-1 only
    assert [(r.zone_id, r.target, r.scheduled, r.achieved, r.percent) for r in rows] == [
        ("thon-1", 3, 2, 2, 67),
        ("thon-2", 3, 0, 0, 0),
    ]
    nxt = week_progress(session, c, date(2027, 3, 8))
    assert [(r.zone_id, r.scheduled, r.achieved) for r in nxt] == [
        ("thon-1", 3, 0),
        ("thon-2", 0, 0),
    ]


def test_a_campaign_without_zones_counts_its_announcements_zones(
    session: Session, add_approved: AddFn
) -> None:
    c = create_campaign(session, CampaignFields(**{**FIELDS.__dict__, "zone_ids": ()}))
    add_approved(local(2027, 3, 2, 7, 0), zones=("thon-2",), campaign_id=c.id)
    session.refresh(c)
    rows = week_progress(session, c, date(2027, 3, 1))
    assert [(r.zone_id, r.scheduled, r.percent) for r in rows] == [("thon-2", 1, 0)]
