"""The report read from the daily roll-ups (``broadcaster.rollups``): what the pages, the API
and the exports show. It equals ``broadcaster.queries.reports.report`` (the same figures from
the playback log; tests hold them equal), at a province-year's 10 M airings in well under a
second (bench/report_bench.py).

A report over one zone reads the log (a zone is a few sites); so do the zone and site lines
under a campaign or category filter (the per-site roll-up does not keep announcements), which
are listed only for a small subtree anyway. Coverage counts distinct sites over the period,
which no daily sum gives: it reads the log for the newest announcements the roll-ups name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from broadcaster import rollups
from broadcaster.models import (
    Announcement,
    ReportAnnouncementDay,
    ReportSiteDay,
    Site,
    Zone,
    site_zones,
)
from broadcaster.queries import reports as log
from broadcaster.queries.reports import Report, ReportFilter, Tree, line, unit_clause
from broadcaster.scope import Scope

Row = TypeVarTuple("Row")
Day = ReportAnnouncementDay
SiteDay = ReportSiteDay


def report(
    session: Session, f: ReportFilter, tz: str, sc: Scope | None = None, *, fresh: bool = True
) -> Report:
    """The whole report for ``f`` over the airings in ``sc`` (default: every unit). ``fresh``:
    first bring the roll-ups up to date (the caller commits that work, or not)."""
    sc = sc or Scope.whole()
    if fresh:
        rollups.refresh(session, tz)
    if f.zone:
        return log.report(session, f, tz, sc)
    tree = Tree(session)
    root = tree.root(f, sc)
    rows = session.execute(
        _where(select(Day.unit_id, *_sums(Day)).group_by(Day.unit_id), Day, f, sc)
    )
    total, below, aired = log.unit_lines(tree, root, rows)
    out = Report(filter=f, total=total, unit=root, path=tree.path(root, sc))
    out.by["unit"], out.by["commune"] = below, aired
    if not log.zones_listed(session, root, sc, f):
        out.by["zone"], out.by["site"] = [], []
        out.skipped = ("zone", "site")
    elif log.announcement_ids(f) is not None:
        out.by["zone"], out.by["site"] = log.log_zones_and_sites(session, f, tz, sc)
    else:
        out.by["zone"], out.by["site"] = _zones_and_sites(session, f, sc)
    q = (
        select(Announcement.category, Announcement.campaign_id, *_sums(Day))
        .join(Announcement, Announcement.id == Day.announcement_id)
        .group_by(Announcement.category, Announcement.campaign_id)
    )
    out.by["category"], out.by["campaign"] = log.category_campaign_lines(
        session, session.execute(_where(q, Day, f, sc))
    )
    for c in log.campaigns_in(session, f, sc):
        sub = replace(
            f,
            start=max(c.starts_on, f.start),
            end=min(c.ends_on, f.end),
            campaign=c.id,
            category="",
        )
        q2 = select(
            Day.unit_id, func.sum(Day.items_planned), func.sum(Day.items_finished)
        ).group_by(Day.unit_id)
        rows2 = session.execute(_where(q2, Day, sub, sc))
        out.campaigns.append(log.campaign_line(session, tree, c, f, sc, rows2))
    newest = (
        _where(select(Day.announcement_id), Day, f, sc)
        .where(Day.announcement_id != rollups.NO_UNIT)
        .distinct()
        .order_by(Day.announcement_id.desc())
        .limit(log.COVERAGE_LIMIT)
    )
    out.coverage = log.coverage(session, f, tz, sc, list(session.scalars(newest)))
    return log.finish(out)


def _sums(model: type[Day] | type[SiteDay]) -> list[Any]:
    return [
        func.sum(model.planned),
        func.sum(model.finished),
        func.sum(model.interrupted),
        func.sum(model.aired_s),
    ]


def _where(
    q: Select[*Row], model: type[Day] | type[SiteDay], f: ReportFilter, sc: Scope
) -> Select[*Row]:
    q = q.where(model.day >= f.start, model.day <= f.end, *unit_clause(model.unit_id, f, sc))
    anns = log.announcement_ids(f)
    if anns is not None:
        assert model is Day, "the per-site roll-up keeps no announcement"
        q = q.where(Day.announcement_id.in_(anns))
    return q


def _zones_and_sites(
    session: Session, f: ReportFilter, sc: Scope
) -> tuple[list[log.Line], list[log.Line]]:
    q = (
        select(Zone.id, Zone.name, *_sums(SiteDay))
        .join(site_zones, site_zones.c.site_id == SiteDay.site_id)
        .join(Zone, Zone.id == site_zones.c.zone_id)
        .where(sc.zones())
        .group_by(Zone.id, Zone.name)
    )
    zones = [line(*r) for r in session.execute(_where(q, SiteDay, f, sc))]
    q = (
        select(SiteDay.site_id, Site.name, *_sums(SiteDay))
        .outerjoin(Site, Site.id == SiteDay.site_id)
        .group_by(SiteDay.site_id, Site.name)
    )
    sites = [line(*r) for r in session.execute(_where(q, SiteDay, f, sc))]
    return zones, sites
