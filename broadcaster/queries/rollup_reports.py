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
    first bring the period's roll-ups up to date (the caller commits that work, or not)."""
    sc = sc or Scope.whole()
    if fresh:
        rollups.refresh(session, tz, (f.start, f.end))
    if f.zone:
        return log.report(session, f, tz, sc)
    tree = Tree(session)
    root = tree.root(f, sc)
    # One pass over the period's (unit, announcement) roll-ups; the rest is sums in Python.
    q = select(
        Day.unit_id,
        Day.announcement_id,
        *_sums(Day),
        func.sum(Day.items_planned),
        func.sum(Day.items_finished),
    ).group_by(Day.unit_id, Day.announcement_id)
    # Core rows (no ORM row processing: a province-year gives some 50,000 of them)
    rows = session.connection().execute(_where(q, Day, f, sc)).all()
    per_unit: dict[int, list[float]] = {}
    per_ann: dict[int, list[float]] = {}
    for unit_id, ann, n, full, part, secs, _ip, _if in rows:
        for into, key in ((per_unit, unit_id), (per_ann, ann)):
            acc = into.get(key)
            if acc is None:
                into[key] = [n or 0, full or 0, part or 0, secs or 0.0]
            else:
                acc[0] += n or 0
                acc[1] += full or 0
                acc[2] += part or 0
                acc[3] += secs or 0.0
    total, below, aired = log.unit_lines(tree, root, [(u, *m) for u, m in per_unit.items()])
    out = Report(filter=f, total=total, unit=root, path=tree.path(root, sc))
    out.by["unit"], out.by["commune"] = below, aired
    if not log.zones_listed(session, root, sc, f):
        out.by["zone"], out.by["site"] = [], []
        out.skipped = ("zone", "site")
    elif log.announcement_ids(f) is not None:
        out.by["zone"], out.by["site"] = log.log_zones_and_sites(session, f, tz, sc)
    else:
        out.by["zone"], out.by["site"] = _zones_and_sites(session, f, sc)
    known = _announcements(session, {int(a) for a in per_ann if a})
    out.by["category"], out.by["campaign"] = log.category_campaign_lines(
        session, [(*known[ann], *m) for ann, m in per_ann.items() if ann in known]
    )
    by_campaign: dict[int, list[tuple[int, int, int]]] = {}
    for u, ann, *_m, ip, i_f in rows:
        campaign = known[ann][1] if ann in known else None
        if campaign is not None:
            by_campaign.setdefault(campaign, []).append((u, ip, i_f))
    for c in log.campaigns_in(session, f, sc):
        if c.starts_on <= f.start and c.ends_on >= f.end:  # the whole period: the same rows
            freq = by_campaign.get(c.id, [])
        else:
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
            freq = [(u, p, a) for u, p, a in session.execute(_where(q2, Day, sub, sc))]
        out.campaigns.append(log.campaign_line(session, tree, c, f, sc, _by_unit(freq)))
    newest = sorted((int(a) for a in per_ann if a), reverse=True)[: log.COVERAGE_LIMIT]
    out.coverage = log.coverage(session, f, tz, sc, newest)
    return log.finish(out)


def _by_unit(rows: list[Any]) -> list[tuple[int, int, int]]:
    """(unit, airings planned, achieved) summed per unit."""
    out: dict[int, list[int]] = {}
    for unit_id, planned, achieved in rows:
        acc = out.setdefault(unit_id, [0, 0])
        acc[0] += int(planned or 0)
        acc[1] += int(achieved or 0)
    return [(u, p, a) for u, (p, a) in out.items()]


def _announcements(session: Session, ids: set[int]) -> dict[int, tuple[str, int | None]]:
    """Each announcement's (category, campaign): one range read when there are many."""
    if not ids:
        return {}
    q = select(Announcement.id, Announcement.category, Announcement.campaign_id)
    if len(ids) > 500:
        q = q.where(Announcement.id.between(min(ids), max(ids)))
    else:
        q = q.where(Announcement.id.in_(sorted(ids)))
    return {int(a): (str(cat), camp) for a, cat, camp in session.execute(q) if a in ids}


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
