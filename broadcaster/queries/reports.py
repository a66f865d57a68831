"""Campaign/period reports: broadcasts and minutes aired per unit, zone, site, category and
campaign; planned vs achieved frequency per commune; coverage per announcement.

This module holds the report's shape and :func:`report`, which reads the playback log itself:
the reference that the daily roll-ups must equal (``broadcaster.queries.rollup_reports``, what
the pages read), and the path for a single zone, which the roll-ups do not keep.

Every report is over a unit's subtree (issue 11's roll-up): the filter's unit (or commune), else
the top of the user's scope. Its ``unit`` lines are the units just below that one (province →
communes → …), its ``commune`` lines the units the airings aired under (kept through merges),
and its ``zone`` and ``site`` lines go down to the speakers when the subtree is small enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, distinct, func, literal, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    Site,
    Unit,
    Zone,
    announcement_zones,
    campaign_zones,
    site_zones,
)
from broadcaster.queries.logs import local_range, sites_in
from broadcaster.queries.sqltime import seconds_between
from broadcaster.scope import Scope
from broadcaster.units import named_subtree, subtree_select

AIRED = ("finished", "interrupted")
DIMENSIONS = ("unit", "commune", "zone", "site", "category", "campaign")
# Zones (and sites) are listed for a subtree of at most this many zones: a commune or a few,
# not a province's thousands of hamlets (choose a commune to see them).
ZONE_LIMIT = 100
COVERAGE_LIMIT = 200  # the newest announcements aired in the period
NO_UNIT = 0  # an airing without a unit (a site since deleted)


@dataclass(frozen=True)
class ReportFilter:
    start: date
    end: date  # inclusive, local dates
    campaign: int | None = None
    category: str = ""
    commune: str = ""  # a unit's name (and its subtree): kept for old links
    unit: str = ""  # a unit's code: the report is over its subtree
    zone: str = ""  # a zone's id: the report is over its sites

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
            unit=str(args.get("unit", "")).strip()[:32],
            zone=str(args.get("zone", "")).strip()[:64],
        )

    def to_args(self) -> dict[str, str]:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.campaign:
            out["campaign"] = str(self.campaign)
        for name in ("category", "commune", "unit", "zone"):
            if getattr(self, name):
                out[name] = getattr(self, name)
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

    def __add__(self, other: Line) -> Line:
        return replace(
            self,
            planned=self.planned + other.planned,
            broadcasts=self.broadcasts + other.broadcasts,
            partial=self.partial + other.partial,
            minutes=self.minutes + other.minutes,
        )


@dataclass(frozen=True)
class Frequency:
    """A campaign's airings in one commune (the unit they aired under)."""

    key: str  # the unit's code
    label: str
    weeks: float
    airings_planned: int  # distinct airings scheduled there
    airings_achieved: int  # distinct airings played fully by at least one of its sites

    @property
    def planned_per_week(self) -> float:
        return self.airings_planned / self.weeks if self.weeks else 0.0

    @property
    def achieved_per_week(self) -> float:
        return self.airings_achieved / self.weeks if self.weeks else 0.0


@dataclass(frozen=True)
class CampaignLine:
    id: int
    name: str
    category: str
    target_per_week: int  # per commune
    weeks: float  # the part of the period the campaign runs, in weeks
    airings_planned: int  # commune-airings: an airing counts once in each commune it airs in
    airings_achieved: int
    communes: tuple[Frequency, ...] = ()

    @property
    def planned_per_week(self) -> float:
        """Per commune: the communes' airings over the weeks, divided by their number."""
        n = max(1, len(self.communes))
        return self.airings_planned / self.weeks / n if self.weeks else 0.0

    @property
    def achieved_per_week(self) -> float:
        n = max(1, len(self.communes))
        return self.airings_achieved / self.weeks / n if self.weeks else 0.0


@dataclass(frozen=True)
class CoverageLine:
    announcement_id: int
    title: str
    targeted: int
    played_fully: int

    @property
    def coverage(self) -> float:
        return 100.0 * self.played_fully / self.targeted if self.targeted else 0.0


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None


@dataclass
class Report:
    filter: ReportFilter
    total: Line
    by: dict[str, list[Line]] = field(default_factory=dict)
    campaigns: list[CampaignLine] = field(default_factory=list)
    coverage: list[CoverageLine] = field(default_factory=list)
    unit: UnitRef | None = None  # the unit whose subtree this is (None: several tops)
    path: list[UnitRef] = field(default_factory=list)  # from the scope's top down to ``unit``
    skipped: tuple[str, ...] = ()  # dimensions left out: too many zones (choose a commune)

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

        def freq(x: Frequency | CampaignLine) -> dict[str, Any]:
            return {
                "airings_planned": x.airings_planned,
                "airings_achieved": x.airings_achieved,
                "planned_per_week": round(x.planned_per_week, 2),
                "achieved_per_week": round(x.achieved_per_week, 2),
            }

        return {
            "period": {"start": self.filter.start.isoformat(), "end": self.filter.end.isoformat()},
            "filter": self.filter.to_args(),
            "unit": None if self.unit is None else {"code": self.unit.code, "name": self.unit.name},
            "total": line(self.total),
            "by": {k: [line(x) for x in v] for k, v in self.by.items()},
            "skipped": list(self.skipped),
            "campaigns": [
                {
                    "id": c.id,
                    "name": c.name,
                    "category": c.category,
                    "target_per_week": c.target_per_week,
                    "weeks": round(c.weeks, 2),
                    **freq(c),
                    "communes": [{"code": x.key, "name": x.label, **freq(x)} for x in c.communes],
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


# --- The unit tree as a report sees it -------------------------------------------------------


class Tree:
    """Every unit (a province holds hundreds): names, and the way down from a report's unit."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id))
        self.units = {r.id: UnitRef(r.id, r.code, r.name, r.kind, r.parent_id) for r in rows}
        self.by_code = {u.code: u for u in self.units.values()}

    def root(self, f: ReportFilter, sc: Scope) -> UnitRef | None:
        """The unit the report is over: the filter's, else the top of the scope (if one)."""
        if f.unit:
            u = self.by_code.get(f.unit)
            return u if u is not None and sc.covers(u.id) else None
        if f.commune:
            named = [u for u in self.units.values() if u.name == f.commune and sc.covers(u.id)]
            return named[0] if len(named) == 1 else None
        tops = [
            u
            for u in self.units.values()
            if sc.covers(u.id) and (u.parent_id is None or not sc.covers(u.parent_id))
        ]
        return tops[0] if len(tops) == 1 else None

    def path(self, unit: UnitRef | None, sc: Scope) -> list[UnitRef]:
        """``unit`` and the units above it inside the scope, top first."""
        out: list[UnitRef] = []
        node = unit
        while node is not None and sc.covers(node.id) and node not in out:
            out.append(node)
            node = self.units.get(node.parent_id) if node.parent_id is not None else None
        return out[::-1]

    def below(self, root: UnitRef | None, unit_id: int) -> UnitRef | None:
        """The unit just below ``root`` on the way to ``unit_id`` (``root`` itself for its own
        airings; the top unit when there is no root)."""
        node = self.units.get(unit_id)
        seen: set[int] = set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            parent = node.parent_id
            if root is None and parent is None:
                return node
            if root is not None and (node.id == root.id or parent == root.id):
                return node
            node = self.units.get(parent) if parent is not None else None
        return None


def unit_clause(
    column: InstrumentedAttribute[Any] | ColumnElement[Any], f: ReportFilter, sc: Scope
) -> list[ColumnElement[bool]]:
    """The filter's units (and the scope's) on a unit-id column."""
    out: list[ColumnElement[bool]] = []
    if not sc.everything:
        out.append(sc.on(column))
    if f.commune:
        out.append(column.in_(named_subtree(f.commune)))
    if f.unit:
        units = select(Unit.id).where(Unit.code == f.unit)
        out.append(column.in_(subtree_select(units, name="report_unit")))
    return out


def announcement_ids(f: ReportFilter) -> Select[Any] | None:
    """The announcements a campaign or category filter keeps; None for all."""
    if not (f.campaign or f.category):
        return None
    anns = select(Announcement.id)
    if f.campaign:
        anns = anns.where(Announcement.campaign_id == f.campaign)
    if f.category:
        anns = anns.where(Announcement.category == f.category)
    return anns


def line(key: Any, label: Any, n: Any, full: Any, part: Any, secs: Any) -> Line:
    return Line(
        key="" if key is None else str(key),
        label=str(label or key or "—"),
        planned=int(n or 0),
        broadcasts=int(full or 0),
        partial=int(part or 0),
        minutes=float(secs or 0) / 60.0,
    )


def unit_lines(
    tree: Tree, root: UnitRef | None, rows: Iterable[Sequence[Any]]
) -> tuple[Line, list[Line], list[Line]]:
    """(total, lines per unit below ``root``, lines per unit aired under) from rows of
    (unit id, planned, full, partial, seconds)."""
    total = line("all", "", 0, 0, 0, 0)
    below: dict[str, Line] = {}
    aired: list[Line] = []
    for unit_id, *measures in rows:
        u = tree.units.get(int(unit_id or NO_UNIT))
        x = line(u.code if u else "", u.name if u else "—", *measures)
        total += x
        aired.append(x)
        up = tree.below(root, u.id) if u else None
        key = up.code if up else ""
        below[key] = (
            below[key] + x if key in below else replace(x, key=key, label=up.name if up else "—")
        )
    return total, list(below.values()), aired


def category_campaign_lines(
    session: Session, rows: Iterable[Sequence[Any]]
) -> tuple[list[Line], list[Line]]:
    """Lines per category and per campaign from rows of (category, campaign id, measures…)."""
    cats: dict[str, list[float]] = {}
    camps: dict[int, list[float]] = {}
    for category, campaign_id, *measures in rows:
        _accumulate(cats, "" if category is None else str(category), measures)
        if campaign_id is not None:
            _accumulate(camps, int(campaign_id), measures)
    names: dict[int, str] = {}
    if camps:
        found = session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(camps)))
        )
        names = {int(cid): str(name) for cid, name in found}
    return (
        [line(cat, cat, *m) for cat, m in cats.items()],
        [line(cid, names.get(cid, str(cid)), *m) for cid, m in camps.items()],
    )


def _accumulate(into: dict[Any, list[float]], key: Any, measures: Sequence[Any]) -> None:
    acc = into.get(key)
    if acc is None:
        into[key] = [m or 0 for m in measures]
    else:
        for i, m in enumerate(measures):
            acc[i] += m or 0


def zones_listed(session: Session, root: UnitRef | None, sc: Scope, f: ReportFilter) -> bool:
    """Whether the report's subtree is small enough to list its zones and sites."""
    q = select(func.count(Zone.id)).where(sc.zones(), *unit_clause(Zone.unit_id, f, sc))
    return (session.scalar(q) or 0) <= ZONE_LIMIT


def campaigns_in(session: Session, f: ReportFilter, sc: Scope) -> list[Campaign]:
    q = select(Campaign).where(
        Campaign.starts_on <= f.end, Campaign.ends_on >= f.start, sc.campaigns()
    )
    if f.campaign:
        q = q.where(Campaign.id == f.campaign)
    if f.category:
        q = q.where(Campaign.category == f.category)
    return list(session.scalars(q.order_by(Campaign.name)))


def campaign_line(
    session: Session,
    tree: Tree,
    c: Campaign,
    f: ReportFilter,
    sc: Scope,
    rows: Iterable[Sequence[Any]],
) -> CampaignLine:
    """A campaign's line from rows of (unit id, airings planned, airings achieved), with every
    commune its zones target (in the report's units) even where nothing aired."""
    start, end = max(c.starts_on, f.start), min(c.ends_on, f.end)
    weeks = ((end - start).days + 1) / 7.0
    found = {int(u or NO_UNIT): (int(p or 0), int(a or 0)) for u, p, a in rows}
    targeted = session.scalars(
        select(Zone.unit_id)
        .join(campaign_zones, campaign_zones.c.zone_id == Zone.id)
        .where(campaign_zones.c.campaign_id == c.id, *unit_clause(Zone.unit_id, f, sc))
        .distinct()
    )
    for unit_id in targeted:
        found.setdefault(unit_id, (0, 0))
    communes = []
    for unit_id, (planned, achieved) in found.items():
        u = tree.units.get(unit_id)
        communes.append(
            Frequency(u.code if u else "", u.name if u else "—", weeks, planned, achieved)
        )
    communes.sort(key=lambda x: x.label)
    return CampaignLine(
        id=c.id,
        name=c.name,
        category=c.category,
        target_per_week=c.target_per_week,
        weeks=weeks,
        airings_planned=sum(x.airings_planned for x in communes),
        airings_achieved=sum(x.airings_achieved for x in communes),
        communes=tuple(communes),
    )


def finish(out: Report) -> Report:
    for lines in out.by.values():
        lines.sort(key=lambda x: (-x.broadcasts, -x.planned, x.label))
    return out


# --- Straight from the log --------------------------------------------------------------------

Row = TypeVarTuple("Row")  # a select's column types, kept through the filters


def measures() -> list[Any]:
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


def log_where(q: Select[*Row], f: ReportFilter, tz: str, sc: Scope) -> Select[*Row]:
    """The filter on playback rows."""
    q = q.where(*unit_clause(Playback.unit_id, f, sc))
    lo, hi = local_range(f.start, f.end, tz)
    q = q.where(Playback.scheduled_at >= lo, Playback.scheduled_at < hi)
    q = q.where(Playback.verified.is_(True))  # a site's word alone is never counted
    anns = announcement_ids(f)
    if anns is not None:
        q = q.where(Playback.announcement_id.in_(anns))
    if f.zone:
        q = q.where(Playback.site_id.in_(sites_in(f.zone)))
    return q


def report(session: Session, f: ReportFilter, tz: str, sc: Scope | None = None) -> Report:
    """The whole report for ``f`` over the airings in ``sc`` (default: every unit), read from
    the playback log."""
    sc = sc or Scope.whole()
    tree = Tree(session)
    root = tree.root(f, sc)
    unit = Playback.unit_id
    rows = session.execute(log_where(select(unit, *measures()).group_by(unit), f, tz, sc))
    total, below, aired = unit_lines(tree, root, rows)
    out = Report(filter=f, total=total, unit=root, path=tree.path(root, sc))
    out.by["unit"], out.by["commune"] = below, aired
    if f.zone or zones_listed(session, root, sc, f):
        out.by["zone"], out.by["site"] = log_zones_and_sites(session, f, tz, sc)
    else:
        out.by["zone"], out.by["site"] = [], []
        out.skipped = ("zone", "site")
    q = (
        select(Announcement.category, Announcement.campaign_id, *measures())
        .join(Announcement, Announcement.id == Playback.announcement_id)
        .group_by(Announcement.category, Announcement.campaign_id)
    )
    out.by["category"], out.by["campaign"] = category_campaign_lines(
        session, session.execute(log_where(q, f, tz, sc))
    )
    for c in campaigns_in(session, f, sc):
        sub = replace(
            f,
            start=max(c.starts_on, f.start),
            end=min(c.ends_on, f.end),
            campaign=None,
            category="",
        )
        q2 = (
            select(
                Playback.unit_id,
                func.count(distinct(Playback.item_id)),
                func.count(
                    distinct(case((Playback.status == "finished", Playback.item_id), else_=None))
                ),
            )
            .join(Announcement, Announcement.id == Playback.announcement_id)
            .where(Announcement.campaign_id == c.id)
            .group_by(Playback.unit_id)
        )
        out.campaigns.append(
            campaign_line(session, tree, c, f, sc, session.execute(log_where(q2, sub, tz, sc)))
        )
    out.coverage = coverage(session, f, tz, sc, None)
    return finish(out)


def log_zones_and_sites(
    session: Session, f: ReportFilter, tz: str, sc: Scope
) -> tuple[list[Line], list[Line]]:
    q = (
        select(Zone.id, Zone.name, *measures())
        .join(site_zones, site_zones.c.site_id == Playback.site_id)
        .join(Zone, Zone.id == site_zones.c.zone_id)
        .where(sc.zones())
        .group_by(Zone.id, Zone.name)
    )
    if f.zone:
        q = q.where(Zone.id == f.zone)
    zones = [line(*r) for r in session.execute(log_where(q, f, tz, sc))]
    q = (
        select(Playback.site_id, Site.name, *measures())
        .outerjoin(Site, Site.id == Playback.site_id)
        .group_by(Playback.site_id, Site.name)
    )
    sites = [line(*r) for r in session.execute(log_where(q, f, tz, sc))]
    return zones, sites


def coverage(
    session: Session, f: ReportFilter, tz: str, sc: Scope, newest: list[int] | None
) -> list[CoverageLine]:
    """Per announcement aired in the period (the ``newest`` ids, else the newest found in the
    log): targeted sites and sites that played it fully."""
    played_q = (
        select(
            Playback.announcement_id,
            func.count(distinct(case((Playback.status == "finished", Playback.site_id)))),
        )
        .where(Playback.announcement_id.is_not(None))
        .group_by(Playback.announcement_id)
    )
    if newest is not None:
        if not newest:
            return []
        # A commune's newest announcements include the province's campaign spots, aired at
        # thousands of sites: there, reading the commune's rows (the unit index) is cheaper
        # than the announcements' (an expression keeps the planner off their index).
        narrow = not sc.everything or bool(f.unit or f.commune)
        ann = (Playback.announcement_id + 0) if narrow else Playback.announcement_id
        played_q = played_q.where(ann.in_(newest))
    played = log_where(played_q, f, tz, sc).subquery()
    targeted = (
        select(announcement_zones.c.announcement_id, func.count(distinct(site_zones.c.site_id)))
        .join(site_zones, site_zones.c.zone_id == announcement_zones.c.zone_id)
        .where(site_zones.c.site_id.in_(sc.site_ids()) if not sc.everything else true())
        .group_by(announcement_zones.c.announcement_id)
    )
    if newest is not None:
        targeted = targeted.where(announcement_zones.c.announcement_id.in_(newest))
    t = targeted.subquery()
    q = (
        select(Announcement.id, Announcement.title, func.coalesce(t.c[1], literal(0)), played.c[1])
        .join(played, played.c.announcement_id == Announcement.id)
        .outerjoin(t, t.c.announcement_id == Announcement.id)
        .order_by(Announcement.id.desc())
        .limit(COVERAGE_LIMIT)
    )
    return [
        CoverageLine(int(a), str(t), int(n or 0), int(p or 0)) for a, t, n, p in session.execute(q)
    ]


def today_local(tz: str, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).date()
