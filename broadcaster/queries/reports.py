"""Campaign/period reports: broadcasts and minutes aired per commune, zone, category and
campaign; planned vs achieved frequency; coverage per announcement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, case, distinct, func, literal, select, true
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    Unit,
    Zone,
    announcement_zones,
    site_zones,
)
from broadcaster.queries.logs import local_range
from broadcaster.queries.sqltime import seconds_between
from broadcaster.scope import Scope
from broadcaster.units import named_subtree

AIRED = ("finished", "interrupted")
DIMENSIONS = ("commune", "zone", "category", "campaign")


@dataclass(frozen=True)
class ReportFilter:
    start: date
    end: date  # inclusive, local dates
    campaign: int | None = None
    category: str = ""
    commune: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def from_args(cls, args: Any, today: date) -> ReportFilter:
        """From a query string; the default period is the last 30 days up to ``today``."""

        def day(name: str, default: date) -> date:
            try:
                return date.fromisoformat(str(args.get(name, "")))
            except ValueError:
                return default

        end = day("end", today)
        start = day("start", end - timedelta(days=29))
        if start > end:
            start, end = end, start
        try:
            campaign = int(args.get("campaign", "")) or None
        except (TypeError, ValueError):
            campaign = None
        return cls(
            start=start,
            end=end,
            campaign=campaign,
            category=str(args.get("category", "")).strip(),
            commune=str(args.get("commune", "")).strip(),
        )

    def to_args(self) -> dict[str, str]:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.campaign:
            out["campaign"] = str(self.campaign)
        if self.category:
            out["category"] = self.category
        if self.commune:
            out["commune"] = self.commune
        return out


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    planned: int  # site-airings planned (playback rows)
    broadcasts: int  # site-airings played fully
    partial: int  # site-airings interrupted
    minutes: float  # minutes aired (full and partial)

    @property
    def achieved_pct(self) -> float:
        return 100.0 * self.broadcasts / self.planned if self.planned else 0.0


@dataclass(frozen=True)
class CampaignLine:
    id: int
    name: str
    category: str
    target_per_week: int
    weeks: float  # the part of the period the campaign runs, in weeks
    airings_planned: int  # distinct airings scheduled
    airings_achieved: int  # distinct airings played fully by at least one site

    @property
    def planned_per_week(self) -> float:
        return self.airings_planned / self.weeks if self.weeks else 0.0

    @property
    def achieved_per_week(self) -> float:
        return self.airings_achieved / self.weeks if self.weeks else 0.0


@dataclass(frozen=True)
class CoverageLine:
    announcement_id: int
    title: str
    targeted: int
    played_fully: int

    @property
    def coverage(self) -> float:
        return 100.0 * self.played_fully / self.targeted if self.targeted else 0.0


@dataclass
class Report:
    filter: ReportFilter
    total: Line
    by: dict[str, list[Line]] = field(default_factory=dict)
    campaigns: list[CampaignLine] = field(default_factory=list)
    coverage: list[CoverageLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def line(x: Line) -> dict[str, Any]:
            return {
                "key": x.key,
                "label": x.label,
                "planned": x.planned,
                "broadcasts": x.broadcasts,
                "partial": x.partial,
                "minutes": round(x.minutes, 1),
                "achieved_pct": round(x.achieved_pct, 1),
            }

        return {
            "period": {"start": self.filter.start.isoformat(), "end": self.filter.end.isoformat()},
            "filter": self.filter.to_args(),
            "total": line(self.total),
            "by": {k: [line(x) for x in v] for k, v in self.by.items()},
            "campaigns": [
                {
                    "id": c.id,
                    "name": c.name,
                    "category": c.category,
                    "target_per_week": c.target_per_week,
                    "weeks": round(c.weeks, 2),
                    "airings_planned": c.airings_planned,
                    "airings_achieved": c.airings_achieved,
                    "planned_per_week": round(c.planned_per_week, 2),
                    "achieved_per_week": round(c.achieved_per_week, 2),
                }
                for c in self.campaigns
            ],
            "coverage": [
                {
                    "announcement_id": c.announcement_id,
                    "title": c.title,
                    "targeted_sites": c.targeted,
                    "played_fully": c.played_fully,
                    "coverage_pct": round(c.coverage, 1),
                }
                for c in self.coverage
            ],
        }


Row = TypeVarTuple("Row")  # a select's column types, kept through the filters


def _measures() -> list[Any]:
    aired_s = case(
        (Playback.status.in_(AIRED), seconds_between(Playback.started_at, Playback.finished_at)),
        else_=0.0,
    )
    return [
        func.count(),
        func.sum(case((Playback.status == "finished", 1), else_=0)),
        func.sum(case((Playback.status == "interrupted", 1), else_=0)),
        func.coalesce(func.sum(aired_s), 0.0),
    ]


def _where(q: Select[*Row], f: ReportFilter, tz: str, sc: Scope) -> Select[*Row]:
    if not sc.everything:
        q = q.where(sc.playbacks())
    lo, hi = local_range(f.start, f.end, tz)
    q = q.where(Playback.scheduled_at >= lo, Playback.scheduled_at < hi)
    q = q.where(Playback.verified.is_(True))  # a site's word alone is never counted
    if f.campaign or f.category:
        anns = select(Announcement.id)
        if f.campaign:
            anns = anns.where(Announcement.campaign_id == f.campaign)
        if f.category:
            anns = anns.where(Announcement.category == f.category)
        q = q.where(Playback.announcement_id.in_(anns))
    if f.commune:
        q = q.where(Playback.unit_id.in_(named_subtree(f.commune)))
    return q


def _line(key: Any, label: Any, n: Any, full: Any, part: Any, secs: Any) -> Line:
    return Line(
        key="" if key is None else str(key),
        label=str(label or key or "—"),
        planned=int(n or 0),
        broadcasts=int(full or 0),
        partial=int(part or 0),
        minutes=float(secs or 0) / 60.0,
    )


def report(session: Session, f: ReportFilter, tz: str, sc: Scope | None = None) -> Report:
    """The whole report for ``f`` over the airings in ``sc`` (default: every unit)."""
    sc = sc or Scope.whole()
    total = _line("all", "", *session.execute(_where(select(*_measures()), f, tz, sc)).one())
    out = Report(filter=f, total=total)

    # Each airing counts under the unit it aired under, even after a merge.
    q = (
        select(Unit.name, Unit.name, *_measures())
        .join(Unit, Unit.id == Playback.unit_id)
        .group_by(Unit.name)
    )
    out.by["commune"] = [_line(*r) for r in session.execute(_where(q, f, tz, sc))]

    q = (
        select(Zone.id, Zone.name, *_measures())
        .join(site_zones, site_zones.c.site_id == Playback.site_id)
        .join(Zone, Zone.id == site_zones.c.zone_id)
        .where(sc.zones())
        .group_by(Zone.id, Zone.name)
    )
    out.by["zone"] = [_line(*r) for r in session.execute(_where(q, f, tz, sc))]

    q = (
        select(Announcement.category, Announcement.category, *_measures())
        .join(Announcement, Announcement.id == Playback.announcement_id)
        .group_by(Announcement.category)
    )
    out.by["category"] = [_line(*r) for r in session.execute(_where(q, f, tz, sc))]

    q = (
        select(Campaign.id, Campaign.name, *_measures())
        .join(Announcement, Announcement.id == Playback.announcement_id)
        .join(Campaign, Campaign.id == Announcement.campaign_id)
        .group_by(Campaign.id, Campaign.name)
    )
    out.by["campaign"] = [_line(*r) for r in session.execute(_where(q, f, tz, sc))]
    for lines in out.by.values():
        lines.sort(key=lambda x: (-x.broadcasts, x.label))

    out.campaigns = _campaigns(session, f, tz, sc)
    out.coverage = _coverage(session, f, tz, sc)
    return out


def _campaigns(session: Session, f: ReportFilter, tz: str, sc: Scope) -> list[CampaignLine]:
    """Planned vs achieved frequency: distinct airings per week against the campaign target."""
    q = select(Campaign).where(
        Campaign.starts_on <= f.end, Campaign.ends_on >= f.start, sc.campaigns()
    )
    if f.campaign:
        q = q.where(Campaign.id == f.campaign)
    if f.category:
        q = q.where(Campaign.category == f.category)
    out = []
    for c in session.scalars(q.order_by(Campaign.name)):
        start, end = max(c.starts_on, f.start), min(c.ends_on, f.end)
        sub = ReportFilter(start=start, end=end, commune=f.commune)
        base = (
            select(
                func.count(distinct(Playback.item_id)),
                func.count(
                    distinct(case((Playback.status == "finished", Playback.item_id), else_=None))
                ),
            )
            .join(Announcement, Announcement.id == Playback.announcement_id)
            .where(Announcement.campaign_id == c.id)
        )
        planned, achieved = session.execute(_where(base, sub, tz, sc)).one()
        out.append(
            CampaignLine(
                id=c.id,
                name=c.name,
                category=c.category,
                target_per_week=c.target_per_week,
                weeks=((end - start).days + 1) / 7.0,
                airings_planned=int(planned or 0),
                airings_achieved=int(achieved or 0),
            )
        )
    return out


def _coverage(
    session: Session, f: ReportFilter, tz: str, sc: Scope, limit: int = 200
) -> list[CoverageLine]:
    """Per announcement aired in the period: targeted sites and sites that played it fully."""
    played = _where(
        select(
            Playback.announcement_id,
            func.count(distinct(case((Playback.status == "finished", Playback.site_id)))),
        )
        .where(Playback.announcement_id.is_not(None))
        .group_by(Playback.announcement_id),
        f,
        tz,
        sc,
    ).subquery()
    targeted = (
        select(announcement_zones.c.announcement_id, func.count(distinct(site_zones.c.site_id)))
        .join(site_zones, site_zones.c.zone_id == announcement_zones.c.zone_id)
        .where(site_zones.c.site_id.in_(sc.site_ids()) if not sc.everything else true())
        .group_by(announcement_zones.c.announcement_id)
        .subquery()
    )
    q = (
        select(
            Announcement.id,
            Announcement.title,
            func.coalesce(targeted.c[1], literal(0)),
            played.c[1],
        )
        .join(played, played.c.announcement_id == Announcement.id)
        .outerjoin(targeted, targeted.c.announcement_id == Announcement.id)
        .order_by(Announcement.id.desc())
        .limit(limit)
    )
    return [
        CoverageLine(int(a), str(t), int(n or 0), int(p or 0)) for a, t, n, p in session.execute(q)
    ]


def today_local(tz: str, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).date()
