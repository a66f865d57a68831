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

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from broadcaster import rollups
from broadcaster.models import (
    Announcement,
    ReportAnnouncementDay,
    ReportAnnouncementMonth,
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
Month = ReportAnnouncementMonth
SiteDay = ReportSiteDay
Span = tuple[type[Day] | type[Month], date, date]


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
    # One query sums the period per (unit, category, campaign): a few thousand rows, from
    # which Python adds up the unit, category and campaign lines (a province-year is some
    # 50,000 (unit, announcement) pairs: too many to add up in Python on a busy machine).
    rows = _summed(
        session,
        f,
        sc,
        lambda m: [m.unit_id, Announcement.category, Announcement.campaign_id],
        lambda m: [*_sums(m), func.sum(m.items_planned), func.sum(m.items_finished)],
        join="outer",
    )
    per_unit: dict[int, list[Any]] = {}
    per_kind: dict[tuple[str, int | None], list[Any]] = {}
    whole: dict[tuple[int, int], list[int]] = {}  # (campaign, unit) → airings planned, achieved
    for (unit_id, category, campaign), (*ms, ip, i_f) in rows.items():
        _add(per_unit, unit_id, ms)
        if category is not None:  # None: no announcement (or one deleted)
            _add(per_kind, (category, campaign), ms)
        if campaign is not None:
            _add(whole, (campaign, unit_id), [ip, i_f])
    total, below, aired = log.unit_lines(tree, root, [(u, *ms) for u, ms in per_unit.items()])
    out = Report(filter=f, total=total, unit=root, path=tree.path(root, sc))
    out.by["unit"], out.by["commune"] = below, aired
    if not log.zones_listed(session, root, sc, f):
        out.by["zone"], out.by["site"] = [], []
        out.skipped = ("zone", "site")
    elif log.announcement_ids(f) is not None:
        out.by["zone"], out.by["site"] = log.log_zones_and_sites(session, f, tz, sc)
    else:
        out.by["zone"], out.by["site"] = _zones_and_sites(session, f, sc)
    out.by["category"], out.by["campaign"] = log.category_campaign_lines(
        session, [(cat, camp, *ms) for (cat, camp), ms in per_kind.items()]
    )
    campaigns = log.campaigns_in(session, f, sc)
    periods: dict[tuple[date, date], list[int]] = {}
    for c in campaigns:  # a campaign running part of the period: its own part of it
        lo, hi = max(c.starts_on, f.start), min(c.ends_on, f.end)
        if (lo, hi) != (f.start, f.end) or f.campaign or f.category:
            periods.setdefault((lo, hi), []).append(c.id)
    for (lo, hi), ids in periods.items():
        sub = replace(f, start=lo, end=hi, campaign=None, category="")
        for (campaign, unit_id), ms in _summed(
            session,
            sub,
            sc,
            lambda m: [Announcement.campaign_id, m.unit_id],
            lambda m: [func.sum(m.items_planned), func.sum(m.items_finished)],
            Announcement.campaign_id.in_(ids),
            join="inner",
        ).items():
            whole[(campaign, unit_id)] = ms
    freq: dict[int, list[tuple[int, int, int]]] = {}
    for (campaign, unit_id), (planned, achieved) in whole.items():
        freq.setdefault(int(campaign), []).append((unit_id, int(planned), int(achieved)))
    for c in campaigns:
        out.campaigns.append(log.campaign_line(session, tree, c, f, sc, freq.get(c.id, [])))
    out.coverage = log.coverage(session, f, tz, sc, _newest(session, f, sc))
    return log.finish(out)


def _add(into: dict[Any, list[Any]], key: Any, values: list[Any]) -> None:
    acc = into.get(key)
    into[key] = list(values) if acc is None else [a + v for a, v in zip(acc, values, strict=True)]


def _summed(
    session: Session,
    f: ReportFilter,
    sc: Scope,
    keys: Callable[[Any], list[Any]],
    sums: Callable[[Any], list[Any]],
    *where: ColumnElement[bool],
    join: str = "",
) -> dict[tuple[Any, ...], list[Any]]:
    """``sums`` of the period's (unit, announcement) roll-ups per ``keys``, its months and edge
    days added up. ``join``: "inner" or "outer" with the announcements (keys and ``where`` may
    then name their columns; a roll-up of no announcement, or of one deleted, drops out of an
    inner join, and has NULLs for them in an outer one)."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for span in spans(f.start, f.end):
        model = span[0]
        k = keys(model)
        q = select(*k, *sums(model)).where(*where).group_by(*k)
        if join:
            on = Announcement.id == model.announcement_id
            q = q.join(Announcement, on, isouter=join == "outer")
        for row in session.connection().execute(_where(q, span, f, sc)):
            _add(out, tuple(row[: len(k)]), [v or 0 for v in row[len(k) :]])
    return out


def _newest(session: Session, f: ReportFilter, sc: Scope) -> list[int]:
    """The newest announcements aired in the period (ids grow with time), for coverage."""
    found: set[int] = set()
    for span in spans(f.start, f.end):
        model = span[0]
        q = (
            select(model.announcement_id)
            .distinct()
            .where(model.announcement_id > 0)
            .order_by(model.announcement_id.desc())
            .limit(log.COVERAGE_LIMIT)
        )
        q = _where(q, span, f, sc, by_announcement=True)
        found.update(int(a) for a in session.connection().execute(q).scalars())
    return sorted(found, reverse=True)[: log.COVERAGE_LIMIT]


def _sums(model: type[Day] | type[Month] | type[SiteDay]) -> list[Any]:
    return [
        func.sum(model.planned),
        func.sum(model.finished),
        func.sum(model.interrupted),
        func.sum(model.aired_s),
    ]


def spans(start: date, end: date) -> list[Span]:
    """The period as roll-up reads: its whole months from the monthly table, the days at its
    edges (before the first whole month, after the last) from the daily one."""
    first = start if start.day == 1 else rollups.month_end(start) + timedelta(days=1)
    last = rollups.month_of(end)
    if rollups.month_end(end) != end:  # the last month is cut: its days are an edge
        last = rollups.month_of(last - timedelta(days=1))
    if first > last:
        return [(Day, start, end)]
    out: list[Span] = []
    if start < first:
        out.append((Day, start, first - timedelta(days=1)))
    out.append((Month, first, last))
    if rollups.month_end(last) < end:
        out.append((Day, rollups.month_end(last) + timedelta(days=1), end))
    return out


def _where(
    q: Select[*Row], span: Span, f: ReportFilter, sc: Scope, *, by_announcement: bool = False
) -> Select[*Row]:
    """``f``'s units and announcements on a span's table, over the span's days or months.
    ``by_announcement``: the period written so that no index on it applies, for a read
    in announcement order along the (announcement, day or month) index."""
    model, lo, hi = span
    when: ColumnElement[date] = (Month.month if model is Month else Day.day).expression
    if by_announcement:  # SQLite would otherwise read the period's range and sort it
        when = func.coalesce(when, when)
    q = q.where(when >= lo, when <= hi, *unit_clause(model.unit_id, f, sc))
    anns = log.announcement_ids(f)
    if anns is not None:
        q = q.where(model.announcement_id.in_(anns))
    return q


def _site_where(q: Select[*Row], f: ReportFilter, sc: Scope) -> Select[*Row]:
    """``f`` on the per-site days (no announcement filter: the roll-up keeps none)."""
    assert log.announcement_ids(f) is None, "the per-site roll-up keeps no announcement"
    return q.where(
        SiteDay.day >= f.start, SiteDay.day <= f.end, *unit_clause(SiteDay.unit_id, f, sc)
    )


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
    zones = [line(*r) for r in session.execute(_site_where(q, f, sc))]
    q = (
        select(SiteDay.site_id, Site.name, *_sums(SiteDay))
        .outerjoin(Site, Site.id == SiteDay.site_id)
        .group_by(SiteDay.site_id, Site.name)
    )
    sites = [line(*r) for r in session.execute(_site_where(q, f, sc))]
    return zones, sites
