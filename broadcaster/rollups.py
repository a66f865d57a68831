"""Daily roll-ups of the playback log for reports (issue 12): ``report_site_days`` and
``report_announcement_days``, one row per local day and unit aired under.

Triggers on ``playbacks`` (migration 0016) mark each (unit, UTC day) a write touches, in the
writer's own transaction. :func:`refresh` takes the committed marks away and recomputes those
days from the log, in one transaction: a mark committed later is left for the next refresh, so
no change is lost, and a day is only ever rebuilt whole (late events from an agent back from an
outage, a merge moving planned airings, anything done with psql). The scheduler refreshes
every ``rollup_refresh_interval_s``, and a report refreshes what is still pending before it
reads, so reports always equal the log. :func:`rebuild` recomputes every day of a period
(``broadcaster reports rebuild``): after a change of timezone, or to check.

``report_announcement_months`` sums the per-announcement days by month (a year's report reads
12 months' rows, not 365 days'): whatever recomputes days then recomputes their months for the
same units, from the daily rows, in the same transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from broadcaster.models import (
    Playback,
    ReportAnnouncementDay,
    ReportAnnouncementMonth,
    ReportMark,
    ReportSiteDay,
)
from broadcaster.queries.sqltime import seconds_between

logger = logging.getLogger(__name__)

AIRED = ("finished", "interrupted")
NO_UNIT = 0  # the roll-ups' unit id for an airing without a unit
# pg_advisory_xact_lock's two-int key: this class, and the schema's hash (one refresh at a time)
ADVISORY_CLASS = 0x524F4C4C  # "ROLL"
Day, Month = ReportAnnouncementDay, ReportAnnouncementMonth
# What each roll-up row counts: a site's rows the airings, an announcement's also its items.
AIRING_MEASURES = ("planned", "finished", "interrupted", "aired_s")
ITEM_MEASURES = (*AIRING_MEASURES, "items_planned", "items_finished")


def refresh(session: Session, tz: str, within: tuple[date, date] | None = None) -> int:
    """Recompute the days the pending marks name; the number of (unit, day) recomputed.
    ``within`` (local days): only the marks of those days (a report's period; the scheduler's
    job takes the rest).

    Flushed, not committed: the caller commits (a refresh that fails leaves its marks)."""
    _lock(session)
    taken = delete(ReportMark)
    if within is not None:  # the UTC days that overlap the local ones
        taken = taken.where(
            ReportMark.day >= within[0] - timedelta(days=1),
            ReportMark.day <= within[1] + timedelta(days=1),
        )
    marks = session.execute(taken.returning(ReportMark.unit_id, ReportMark.day)).all()
    if session.get_bind().dialect.name == "postgresql":  # this transaction's own marks went too
        session.execute(text("SELECT set_config('broadcaster.report_marks', '', true)"))
    if not marks:
        return 0
    days: dict[date, set[int]] = defaultdict(set)
    for unit_id, utc_day in marks:
        for day in local_days(utc_day, tz):
            days[day].add(unit_id)
    months: dict[date, set[int]] = defaultdict(set)
    for day, units in sorted(days.items()):
        recompute(session, tz, day, units)
        months[month_of(day)] |= units
    for month, units in sorted(months.items()):
        recompute_month(session, month, units)
    done = sum(len(u) for u in days.values())
    logger.debug("report roll-ups: %d marks, %d (unit, day) recomputed", len(marks), done)
    return done


def rebuild(session: Session, tz: str, start: date, end: date) -> int:
    """Recompute every day from ``start`` to ``end``; the number of days. Flushed."""
    _lock(session)
    n = 0
    day = start
    months: set[date] = set()
    while day <= end:
        recompute(session, tz, day, None)
        months.add(month_of(day))
        day += timedelta(days=1)
        n += 1
    for month in sorted(months):
        recompute_month(session, month, None)
    return n


def log_days(session: Session, tz: str) -> tuple[date | None, date | None]:
    """The local days of the log's first and last airings (None, None: an empty log)."""
    first, last = session.execute(
        select(func.min(Playback.scheduled_at), func.max(Playback.scheduled_at))
    ).one()
    zone = ZoneInfo(tz)
    return (
        first.astimezone(zone).date() if first else None,
        last.astimezone(zone).date() if last else None,
    )


def clear(session: Session, start: date | None, end: date | None) -> None:
    """Remove the roll-up rows outside ``start``..``end`` (every row when either is None)."""
    _lock(session)
    for model in (ReportSiteDay, ReportAnnouncementDay):
        gone = delete(model)
        if start is not None and end is not None:
            gone = gone.where(or_(model.day < start, model.day > end))
        session.execute(gone)
    if start is None or end is None:
        session.execute(delete(Month))
        return
    first, last = month_of(start), month_of(end)
    session.execute(delete(Month).where(or_(Month.month < first, Month.month > last)))
    for month in sorted({first, last}):  # the edge months lost the days outside
        recompute_month(session, month, None)


def month_of(day: date) -> date:
    """The month's first day."""
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The month's last day."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def local_days(utc_day: date, tz: str) -> list[date]:
    """The local dates a UTC day overlaps (one or two)."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(utc_day, time(), UTC)
    hi = lo + timedelta(days=1) - timedelta(microseconds=1)
    return sorted({lo.astimezone(zone).date(), hi.astimezone(zone).date()})


def local_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """A local date → its UTC half-open range [lo, hi)."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(day, time(), zone).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return lo, hi


def recompute(session: Session, tz: str, day: date, units: Iterable[int] | None) -> None:
    """Replace ``day``'s roll-up rows of ``units`` (None: every unit) with the log's figures."""
    lo, hi = local_bounds(day, tz)
    where: list[ColumnElement[bool]] = [
        Playback.scheduled_at >= lo,
        Playback.scheduled_at < hi,
        Playback.verified.is_(True),  # a site's word alone is never counted
    ]
    unit_ids = None if units is None else sorted(set(units))
    if unit_ids is not None:
        real = [u for u in unit_ids if u != NO_UNIT]
        clauses: list[ColumnElement[bool]] = [Playback.unit_id.in_(real)] if real else []
        if NO_UNIT in unit_ids:
            clauses.append(Playback.unit_id.is_(None))
        where.append(or_(*clauses))
    unit = func.coalesce(Playback.unit_id, NO_UNIT)
    the_day = literal(day, Date)
    for model in (ReportSiteDay, ReportAnnouncementDay):
        gone = delete(model).where(model.day == day)
        if unit_ids is not None:
            gone = gone.where(model.unit_id.in_(unit_ids))
        session.execute(gone)
    site_q = (
        select(the_day, unit, Playback.site_id, *_measures())
        .where(*where)
        .group_by(unit, Playback.site_id)
    )
    session.execute(
        insert(ReportSiteDay).from_select(
            ["day", "unit_id", "site_id", *AIRING_MEASURES],
            site_q,
        )
    )
    ann = func.coalesce(Playback.announcement_id, 0)
    finished_item = case((Playback.status == "finished", Playback.item_id), else_=None)
    ann_q = (
        select(
            the_day,
            unit,
            ann,
            *_measures(),
            func.count(distinct(Playback.item_id)),
            func.count(distinct(finished_item)),
        )
        .where(*where)
        .group_by(unit, ann)
    )
    session.execute(
        insert(ReportAnnouncementDay).from_select(
            ["day", "unit_id", "announcement_id", *ITEM_MEASURES],
            ann_q,
        )
    )


def recompute_month(session: Session, month: date, units: Iterable[int] | None) -> None:
    """Replace ``month``'s rows of ``units`` (None: every unit) with the sums of its days."""
    gone = delete(Month).where(Month.month == month)
    where: list[ColumnElement[bool]] = [Day.day >= month, Day.day <= month_end(month)]
    if units is not None:
        unit_ids = sorted(set(units))
        gone = gone.where(Month.unit_id.in_(unit_ids))
        where.append(Day.unit_id.in_(unit_ids))
    session.execute(gone)
    sums = (
        select(
            literal(month, Date),
            Day.unit_id,
            Day.announcement_id,
            *(func.sum(getattr(Day, name)) for name in ITEM_MEASURES),
        )
        .where(*where)
        .group_by(Day.unit_id, Day.announcement_id)
    )
    session.execute(
        insert(Month).from_select(
            ["month", "unit_id", "announcement_id", *ITEM_MEASURES],
            sums,
        )
    )


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


def pending(session: Session) -> int:
    """How many marks wait for a refresh."""
    return session.scalar(select(func.count()).select_from(ReportMark)) or 0


def _lock(session: Session) -> None:
    """One refresh or rebuild at a time (two would each rebuild a day from their own snapshot);
    SQLite's one writer does it there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:c, hashtext(current_schema()))"),
            {"c": ADVISORY_CLASS},
        )
