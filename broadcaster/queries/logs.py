"""The filtered playback log: one query builder shared by the page, the exports and the API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcaster.interrupted import is_replay
from broadcaster.models import (
    Announcement,
    Campaign,
    Playback,
    Site,
    site_zones,
)
from broadcaster.scope import Scope
from broadcaster.units import named_subtree

Row = TypeVarTuple("Row")  # a select's column types, kept through the filters

SORTS = {
    "scheduled": Playback.scheduled_at,
    "site": Playback.site_id,
    "status": Playback.status,
    "announcement": Playback.announcement_id,
}
PER_PAGE_CHOICES = (25, 50, 100, 200)
COUNT_CAP = 10_000  # counting beyond this is slow at 10 M rows and tells an officer nothing
SEARCH_MAX = 100  # characters of a search kept
MAX_LISTED = 2_000  # ids a filter puts in its IN list; more: the subquery
SORT_FEW = 2_000  # matches (known from the count) few enough to sort rather than walk in order


@dataclass(frozen=True)
class LogFilter:
    """What an officer asked for; every field maps 1:1 to a query-string parameter."""

    start: date | None = None  # local dates, inclusive
    end: date | None = None
    commune: str = ""
    zone: str = ""
    site: str = ""
    announcement: int | None = None
    campaign: int | None = None
    category: str = ""
    priority: str = ""
    status: str = ""
    q: str = ""  # search: in the announcement's title, the site's name or id
    sort: str = "scheduled"
    desc: bool = True
    page: int = 1  # offset paging, for links made before the cursors
    per_page: int = 50
    after: int | None = None  # keyset paging: the rows after (or before) the row with this id
    before: int | None = None
    upcoming: bool = False  # also the airings scheduled after ``until``
    # Not a query-string parameter: the caller's "now". Given, the view ends there unless
    # ``upcoming`` (the page and its exports: newest aired first, not next week's airings).
    until: datetime | None = None

    @classmethod
    def from_args(cls, args: Any) -> LogFilter:
        """Build from a query-string mapping, ignoring what does not parse."""

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(str(args.get(name, "")))
            except ValueError:
                return None

        def integer(name: str, default: int | None = None) -> int | None:
            try:
                return int(args.get(name, ""))
            except (TypeError, ValueError):
                return default

        start, end = day("start"), day("end")
        if start is None and end is None and day("date"):  # the old one-day filter's links
            start = end = day("date")
        sort = str(args.get("sort", "scheduled"))
        per_page = integer("per_page", 50) or 50
        return cls(
            start=start,
            end=end,
            commune=str(args.get("commune", "")).strip(),
            zone=str(args.get("zone", "")).strip(),
            site=str(args.get("site", "")).strip(),
            announcement=integer("announcement"),
            campaign=integer("campaign"),
            category=str(args.get("category", "")).strip(),
            priority=str(args.get("priority", "")).strip(),
            status=str(args.get("status", "")).strip(),
            q=str(args.get("q", "")).strip()[:SEARCH_MAX],
            sort=sort if sort in SORTS else "scheduled",
            desc=str(args.get("dir", "desc")) != "asc",
            page=max(1, integer("page", 1) or 1),
            per_page=per_page if per_page in PER_PAGE_CHOICES else 50,
            after=integer("after"),
            before=integer("before"),
            upcoming=str(args.get("upcoming", "")) in ("1", "on", "true"),
        )

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query-string parameters of this view (the permalink), defaults left out."""
        f = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        default = LogFilter()
        for fld in fields(f):
            if fld.name == "until":
                continue
            value = getattr(f, fld.name)
            if value == getattr(default, fld.name) or value in (None, ""):
                continue
            if fld.name == "desc":
                out["dir"] = "desc" if value else "asc"
            elif fld.name == "upcoming":
                out["upcoming"] = "1"
            else:
                out[fld.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["until"]
        for k in ("start", "end"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


@dataclass(frozen=True)
class LogRow:
    id: int
    site_id: str
    site_name: str
    item_id: str
    announcement_id: int | None
    title: str
    category: str
    priority: str
    campaign: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    detail: str
    verified: bool = True  # False: not in the site's plan nor in a command to it

    @property
    def aired_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return max(0.0, (self.finished_at - self.started_at).total_seconds())
        return None

    @property
    def replay(self) -> bool:
        """The replay of an airing an emergency cut off (issue 13)."""
        return is_replay(self.item_id)


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    page: int
    per_page: int
    has_next: bool
    total: int  # capped at COUNT_CAP
    total_capped: bool
    has_prev: bool = False
    next_after: int | None = None  # the cursor of the next page (?after=…), if there is one
    prev_before: int | None = None  # and of the previous one (?before=…)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def local_range(start: date | None, end: date | None, tz: str) -> tuple[datetime | None, ...]:
    """Local dates (end inclusive) → the UTC half-open range [lo, hi)."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time(), zone).astimezone(UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC) if end else None
    return lo, hi


def sites_in(zone: str) -> Select[str]:
    """Ids of the sites in a zone."""
    return select(site_zones.c.site_id).distinct().where(site_zones.c.zone_id == zone)


def announcements_where(f: LogFilter) -> Select[int] | None:
    """Ids of the announcements matching the announcement-level filters, or None for all (the
    priority is the airing's own column: see ``_where``)."""
    if not (f.campaign or f.category):
        return None
    q = select(Announcement.id)
    if f.campaign:
        q = q.where(Announcement.campaign_id == f.campaign)
    if f.category:
        in_campaign = select(Campaign.id).where(Campaign.category == f.category)
        q = q.where(
            or_(Announcement.category == f.category, Announcement.campaign_id.in_(in_campaign))
        )
    return q


def filtered(
    session: Session,
    f: LogFilter,
    tz: str,
    scope: Scope | None = None,
    resolved: Sequence[ColumnElement[bool]] | None = None,
) -> Select[int]:
    """The playbacks matching ``f`` (no sort, no paging) as a select of Playback.id."""
    q = select(Playback.id)
    if resolved is None:
        resolved = _resolve(session, f)
    return _where(q, f, tz, scope or Scope.whole(), resolved)


def _resolve(session: Session, f: LogFilter) -> tuple[ColumnElement[bool], ...]:
    """The filters that name other tables (commune, zone, campaign, category, search) as
    clauses on the playbacks' own indexed columns, their ids looked up first: a list of ids
    the planners can estimate (a subquery they cannot: PostgreSQL took a commune's one unit for
    3,000 and scanned the table)."""
    out = []
    if f.commune:
        out.append(_listed(session, Playback.unit_id, named_subtree(f.commune)))
    if f.zone:
        out.append(_listed(session, Playback.site_id, sites_in(f.zone)))
    anns = announcements_where(f)
    if anns is not None:
        out.append(_listed(session, Playback.announcement_id, anns))
    if f.q:
        titles, sites = _searched(f.q)
        out.append(
            or_(
                _listed(session, Playback.announcement_id, titles),
                _listed(session, Playback.site_id, sites),
            )
        )
    return tuple(out)


def _listed(
    session: Session, column: InstrumentedAttribute[Any], ids: Select[Any]
) -> ColumnElement[bool]:
    """``column IN (the ids)``, as a list up to MAX_LISTED ids, else as the subquery."""
    found = session.scalars(ids.limit(MAX_LISTED + 1)).all()
    if len(found) > MAX_LISTED:
        return column.in_(ids)
    return column.in_(found) if found else false()


def _where(
    q: Select[*Row], f: LogFilter, tz: str, scope: Scope, resolved: Sequence[ColumnElement[bool]]
) -> Select[*Row]:
    if not scope.everything:
        q = q.where(scope.playbacks())
    lo, hi = local_range(f.start, f.end, tz)
    if lo is not None:
        q = q.where(Playback.scheduled_at >= lo)
    if hi is not None:
        q = q.where(Playback.scheduled_at < hi)
    if f.until is not None and not f.upcoming:
        q = q.where(Playback.scheduled_at <= f.until)
    if f.site:
        q = q.where(Playback.site_id == f.site)
    if f.announcement:
        q = q.where(Playback.announcement_id == f.announcement)
    if f.priority:
        q = q.where(Playback.priority == f.priority)
    if f.status:
        q = q.where(Playback.status == f.status)
    return q.where(*resolved)


def _searched(text: str) -> tuple[Select[int], Select[str]]:
    """The announcements whose title, and the sites whose name or id, hold ``text`` (case
    folded where the database folds it: PostgreSQL for all letters, SQLite for ASCII)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    titles = select(Announcement.id).where(Announcement.title.ilike(pattern, escape="\\"))
    sites = select(Site.id).where(
        or_(Site.name.ilike(pattern, escape="\\"), Site.id.ilike(pattern, escape="\\"))
    )
    return titles, sites


def _rows_query(
    f: LogFilter,
    tz: str,
    scope: Scope,
    resolved: Sequence[ColumnElement[bool]],
    *,
    reverse: bool = False,
) -> Select[Playback, str | None, str | None, str | None, str | None, str | None]:
    q = (
        select(
            Playback,
            Site.name,
            Announcement.title,
            Announcement.category,
            Announcement.priority,
            Campaign.name,
        )
        .outerjoin(Site, Site.id == Playback.site_id)
        .outerjoin(Announcement, Announcement.id == Playback.announcement_id)
        .outerjoin(Campaign, Campaign.id == Announcement.campaign_id)
    )
    q = _where(q, f, tz, scope, resolved)
    down = f.desc != reverse
    return q.order_by(*(c.desc() if down else c.asc() for c in _order(f)))


def _order(f: LogFilter) -> list[InstrumentedAttribute[Any]]:
    """The view's sort columns, most significant first; the id makes the order total."""
    key = SORTS[f.sort]
    return ([key] if f.sort != "scheduled" else []) + [Playback.scheduled_at, Playback.id]


def _beyond(
    cols: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any], down: bool, nulls_high: bool
) -> ColumnElement[bool]:
    """The rows strictly after ``values`` in the order of ``cols`` (all descending if ``down``).

    NULLs sort where the database puts them (``nulls_high``: above every value, PostgreSQL;
    below, SQLite). The redundant bound (``col <= v``) lets the index range start at the cursor.
    """
    col, v = cols[0], values[0]
    rest: ColumnElement[bool] = (
        _beyond(cols[1:], values[1:], down, nulls_high) if len(cols) > 1 else false()
    )
    null_first = nulls_high == down
    if v is None:
        return or_(col.is_not(None), and_(col.is_(None), rest)) if null_first else and_(
            col.is_(None), rest
        )  # fmt: skip
    bound = col <= v if down else col >= v
    after = and_(bound, or_(col != v, rest))
    return after if null_first else or_(after, col.is_(None))


def _cursor(session: Session, f: LogFilter, scope: Scope) -> tuple[list[Any], bool] | None:
    """The sort values of the cursor row and whether the page goes backwards, or None when
    there is no cursor (or it names no row in scope: the view starts from its first page)."""
    row_id, backwards = (f.before, True) if f.before is not None else (f.after, False)
    if row_id is None:
        return None
    row = session.execute(
        select(*_order(f)).where(Playback.id == row_id, scope.playbacks())
    ).first()
    return (list(row), backwards) if row is not None else None


def _row(pb: Playback, site: str | None, title: str | None, cat: str | None, prio: str | None,
         campaign: str | None) -> LogRow:  # fmt: skip
    return LogRow(
        id=pb.id,
        site_id=pb.site_id,
        site_name=site or pb.site_id,
        item_id=pb.item_id,
        announcement_id=pb.announcement_id,
        title=title or "",
        category=cat or "",
        priority=prio or "",
        campaign=campaign or "",
        scheduled_at=pb.scheduled_at,
        started_at=pb.started_at,
        finished_at=pb.finished_at,
        status=pb.status,
        detail=pb.detail,
        verified=pb.verified,
    )


def page(session: Session, f: LogFilter, tz: str, scope: Scope | None = None) -> LogPage:
    """One page of the filtered, sorted log in ``scope`` (default: every unit), and the
    (capped) number of matching rows.

    With a cursor (``after``/``before``: a row id) the page is the ``per_page`` rows after or
    before that row (keyset paging: as fast on the hundredth page as on the first); else
    ``page`` counts pages from the start (OFFSET, for older links)."""
    scope = scope or Scope.whole()
    cursor = _cursor(session, f, scope)
    backwards = cursor is not None and cursor[1]
    down = f.desc != backwards
    nulls_high = session.get_bind().dialect.name == "postgresql"
    resolved = _resolve(session, f)
    capped = filtered(session, f, tz, scope, resolved).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    q = _rows_query(f, tz, scope, resolved, reverse=backwards).limit(f.per_page + 1)
    few = _few(session, f, tz, scope, resolved, cursor, nulls_high) if total <= SORT_FEW else None
    if few is not None:  # the page's ids, found and sorted here
        found = {r[0].id: r for r in session.execute(q.where(Playback.id.in_(few)))}
        result = [found[i] for i in few if i in found]
    elif cursor is not None:
        result = list(session.execute(q.where(_beyond(_order(f), cursor[0], down, nulls_high))))
    else:
        result = list(session.execute(q.offset((f.page - 1) * f.per_page)))
    rows = [_row(*r) for r in result]
    more = len(rows) > f.per_page
    rows = rows[: f.per_page]
    if backwards:
        rows.reverse()
    has_next = True if backwards else more
    has_prev = more if backwards else (cursor is not None or f.page > 1)
    return LogPage(
        rows=rows,
        page=f.page if cursor is None else 1,
        per_page=f.per_page,
        has_next=has_next and bool(rows),
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
        has_prev=has_prev and bool(rows),
        next_after=rows[-1].id if has_next and rows else None,
        prev_before=rows[0].id if has_prev and rows else None,
    )


def _few(
    session: Session,
    f: LogFilter,
    tz: str,
    scope: Scope,
    resolved: Sequence[ColumnElement[bool]],
    cursor: tuple[list[Any], bool] | None,
    nulls_high: bool,
) -> list[int] | None:
    """The ids of the page (``per_page`` + 1, in the page's order) when the view has few
    matches: their sort values are read along the filter's own index (no ORDER BY, as the count
    does) and sorted here. A planner asked to sort walks the time index when it overestimates
    the matches, hoping to meet them soon: PostgreSQL read a whole month for a search matching
    a few announcements (1 s), for 20 ms this way. None: more matches than SORT_FEW after all."""
    cols = _order(f)
    found = session.execute(_where(select(*cols), f, tz, scope, resolved).limit(SORT_FEW + 1)).all()
    if len(found) > SORT_FEW:
        return None

    def key(values: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
        # NULLs where the database puts them (above every value on PostgreSQL, below on SQLite)
        return tuple((1 if nulls_high else -1, 0) if v is None else (0, v) for v in values)

    down = f.desc != (cursor is not None and cursor[1])
    ordered = sorted(found, key=key, reverse=down)
    if cursor is not None:
        edge = key(cursor[0])
        ordered = [r for r in ordered if (key(r) < edge if down else key(r) > edge)]
    else:
        ordered = ordered[(f.page - 1) * f.per_page :]
    return [r[-1] for r in ordered[: f.per_page + 1]]  # the id is the last sort column


def iter_rows(
    session: Session, f: LogFilter, tz: str, limit: int, scope: Scope | None = None
) -> Iterator[LogRow]:
    """Every matching row in the view's order, up to ``limit``, streamed in chunks."""
    q = (
        _rows_query(f, tz, scope or Scope.whole(), _resolve(session, f))
        .limit(limit)
        .execution_options(yield_per=2000)
    )
    for r in session.execute(q):
        yield _row(*r)
