"""Officer test data: the demo commune with a campaign, two announcements and a playback log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    Site,
    SitePlan,
    User,
    Zone,
)
from schedules.programme_import import import_demo

# 10:00 in Hanoi on 23/11/2026 is 03:00 UTC.
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
DAY1 = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)  # 07:30 local on 22/11
DAY2 = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 07:30 local on 23/11
LATE = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 local on 23/11 (still 22/11 in UTC)


@dataclass
class Seeded:
    factory: sessionmaker[Session]
    vaccine: int  # announcement ids
    flood: int
    campaign: int


def add_playback(s: Session, site: str, ann: int, at: datetime, status: str, **kw: object) -> None:
    started = kw.pop("started_at", at if status in ("started", "finished", "interrupted") else None)
    finished = kw.pop(
        "finished_at", at + timedelta(minutes=2) if status in ("finished", "interrupted") else None
    )
    s.add(
        Playback(
            site_id=site,
            item_id=kw.pop("item_id", f"s{ann}-{int(at.timestamp())}"),
            announcement_id=ann,
            scheduled_at=at,
            started_at=started,
            finished_at=finished,
            status=status,
            detail=str(kw.pop("detail", "")),
            updated_at=at,
        )
    )


def seed(factory: sessionmaker[Session]) -> Seeded:
    with factory() as s, s.begin():
        import_demo(s)
        s.flush()
        author = s.scalars(select(User).where(User.username == "bientap")).one()
        zones = {z.id: z for z in s.scalars(select(Zone))}
        camp = Campaign(
            name="Giảm nghèo bền vững",
            category="giam-ngheo",
            starts_on=date(2026, 11, 1),
            ends_on=date(2026, 12, 31),
            target_per_week=7,
            zones=[zones["thon-1"], zones["thon-2"]],
        )
        s.add(camp)
        s.flush()
        vaccine = Announcement(
            title="Tiêm phòng cho đàn gia súc",
            body="…",
            category="y-te",
            priority="normal",
            status="approved",
            author_id=author.id,
            zones=[zones["thon-1"], zones["thon-2"]],
            campaign_id=camp.id,
        )
        flood = Announcement(
            title="Cảnh báo lũ quét",
            body="Mưa lớn kéo dài, bà con vùng trũng khẩn trương di dời người và tài sản.",
            category="thien-tai",
            priority="emergency",
            status="approved",
            author_id=author.id,
            zones=[zones["thon-1"], zones["thon-2"], zones["thon-5"]],
        )
        s.add_all([vaccine, flood])
        s.flush()
        # vaccine: dai-xa played (day 1 and 2), cum-loa-t1 interrupted, cum-loa-t2 failed.
        add_playback(s, "dai-xa", vaccine.id, DAY1, "finished")
        add_playback(s, "dai-xa", vaccine.id, DAY2, "finished")
        add_playback(s, "cum-loa-t1", vaccine.id, DAY1, "interrupted", detail="emergency")
        add_playback(s, "cum-loa-t2", vaccine.id, DAY1, "failed", detail="media unavailable")
        # flood: dai-xa finished late at night, cum-loa-t1 expired, cum-loa-t2 no report.
        add_playback(s, "dai-xa", flood.id, LATE, "finished")
        add_playback(s, "cum-loa-t1", flood.id, LATE, "expired")
        add_playback(s, "cum-loa-t2", flood.id, LATE, "scheduled")
        s.get(Site, "cum-loa-t2").state = "offline"
        s.get(Site, "cum-loa-t2").state_at = NOW - timedelta(hours=3)
        for sid in ("dai-xa", "cum-loa-t1"):
            site = s.get(Site, sid)
            site.state, site.state_at, site.last_seen_at = "online", NOW, NOW
            site.reported_plan_version = 5
            s.add(SitePlan(site_id=sid, version=5, published_at=NOW - timedelta(hours=1)))
        return Seeded(factory, vaccine.id, flood.id, camp.id)
