"""The reports' daily roll-ups on SQLite and PostgreSQL: kept by the triggers' marks and a
refresh, equal to a rebuild and to the report read from the log, through late events (an
agent back from an outage) and edits made outside ingest."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from officers_seed import DAY1, NOW, Seeded, add_playback
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcaster import rollups
from broadcaster.cli import _Ctx, main
from broadcaster.clock import FakeClock
from broadcaster.ingest import Ingestor
from broadcaster.models import (
    Playback,
    ReportAnnouncementDay,
    ReportAnnouncementMonth,
    ReportMark,
    ReportSiteDay,
)
from broadcaster.publisher import MemoryPublisher
from broadcaster.queries import reports, rollup_reports
from broadcaster.queries.reports import ReportFilter
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

TZ = "Asia/Ho_Chi_Minh"
MONTH = ReportFilter(start=date(2026, 11, 1), end=date(2026, 11, 30))
OUTAGE = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)  # 06:00 local on 16/11


def _tables(session: Session) -> dict[str, list[tuple[object, ...]]]:
    def rows(model: type) -> list[tuple[object, ...]]:
        cols = [c for c in model.__table__.columns]  # type: ignore[attr-defined]
        found = session.execute(select(*cols))
        return sorted(tuple(round(v, 3) if isinstance(v, float) else v for v in r) for r in found)

    days, months = rows(ReportAnnouncementDay), rows(ReportAnnouncementMonth)
    assert months == _months_of(days)  # the monthly level is always its days' sums
    return {"site": rows(ReportSiteDay), "announcement": days, "month": months}


def _months_of(days: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """report_announcement_days rows (day, unit, announcement, measures…) summed per month."""
    sums: dict[tuple[object, ...], list[float]] = {}
    for day, unit, ann, *measures in days:
        key = (day.replace(day=1), unit, ann)  # type: ignore[attr-defined]
        acc = sums.setdefault(key, [0] * len(measures))
        for i, m in enumerate(measures):
            acc[i] += m  # type: ignore[operator]
    return sorted(
        (*k, *(round(v, 3) if isinstance(v, float) else v for v in ms)) for k, ms in sums.items()
    )


def _same_report(session: Session, f: ReportFilter) -> dict[str, object]:
    from_log = reports.report(session, f, TZ).as_dict()
    from_rollups = rollup_reports.report(session, f, TZ).as_dict()
    assert from_rollups == from_log
    return from_rollups


def _events(site: str, item: str, ann: int, at: datetime, seq: int, last: str) -> list[Event]:
    return [
        Event(
            id=str(uuid.uuid4()),
            site=site,
            outbox="ob-outage",
            seq=seq + i,
            kind=kind,
            at=at + timedelta(seconds=90 * i),
            item_id=item,
            announcement_id=ann,
            scheduled_at=at,
        )
        for i, kind in enumerate(("started", last))
    ]


def test_the_migration_marks_what_was_there_and_a_refresh_builds_it(seeded: Seeded) -> None:
    with seeded.factory() as s, s.begin():
        assert rollups.pending(s) > 0  # the seed's playbacks, marked by the triggers
        assert rollups.refresh(s, TZ) >= 2
        assert rollups.pending(s) == 0
        assert s.scalar(select(ReportSiteDay.planned).limit(1)) is not None
    with seeded.factory() as s:
        figures = _same_report(s, MONTH)
    assert figures["total"]["planned"] == 7  # type: ignore[index]


def test_late_events_and_edits_land_in_their_day(seeded: Seeded) -> None:
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
        # The plan published before an outage: two airings on 16/11, not reported yet.
        add_playback(s, "cum-loa-t1", seeded.vaccine, OUTAGE, "scheduled", item_id="o-1")
        add_playback(s, "cum-loa-t2", seeded.flood, OUTAGE, "scheduled", item_id="o-2")
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
    with seeded.factory() as s:
        before = _same_report(s, MONTH)
    # A week later the agents come back and send what they played during the outage.
    ingestor = Ingestor(
        seeded.factory,
        Signer.generate(),
        MemoryPublisher(),
        Topics("loa/v1"),
        clock=FakeClock(NOW),
    )
    ingestor.store_events(_events("cum-loa-t1", "o-1", seeded.vaccine, OUTAGE, 1, "finished"))
    ingestor.store_events(_events("cum-loa-t2", "o-2", seeded.flood, OUTAGE, 1, "interrupted"))
    with seeded.factory() as s, s.begin():
        marks = {(u, d) for u, d in s.execute(select(ReportMark.unit_id, ReportMark.day))}
        assert {day for _, day in marks} == {OUTAGE.date()}  # only the outage's day
        # A report of other days leaves those marks to the scheduler's job (and is right).
        waiting = rollups.pending(s)  # on PostgreSQL, one per writing transaction
        _same_report(s, ReportFilter(start=date(2026, 11, 22), end=date(2026, 11, 23)))
        assert rollups.pending(s) == waiting
        assert rollups.refresh(s, TZ) >= 1
    with seeded.factory() as s:
        after = _same_report(s, MONTH)
        day = _same_report(s, ReportFilter(start=date(2026, 11, 16), end=date(2026, 11, 16)))
    assert after["total"]["broadcasts"] == before["total"]["broadcasts"] + 1  # type: ignore[index]
    assert after["total"]["partial"] == before["total"]["partial"] + 1  # type: ignore[index]
    assert day["total"]["planned"] == 2 and day["total"]["minutes"] == 3.0  # type: ignore[index]
    # An edit outside ingest (psql, a script) is marked by the triggers too.
    with seeded.factory() as s, s.begin():
        s.execute(update(Playback).where(Playback.item_id == "o-2").values(verified=False))
    with seeded.factory() as s:
        edited = _same_report(s, MONTH)
    assert edited["total"]["planned"] == after["total"]["planned"] - 1  # type: ignore[index]


def test_a_rebuild_gives_the_same_rows_as_the_incremental_path(seeded: Seeded) -> None:
    with seeded.factory() as s, s.begin():
        add_playback(s, "cum-loa-t1", seeded.vaccine, OUTAGE, "finished", item_id="o-1")
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
        add_playback(s, "dai-xa", seeded.flood, DAY1 + timedelta(hours=2), "failed")
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
    with seeded.factory() as s:
        incremental = _tables(s)
        url = s.get_bind().engine.url.render_as_string(hide_password=False)
    with seeded.factory() as s, s.begin():
        rollups.clear(s, None, None)  # start from nothing: the rebuild must make it all
    result = CliRunner().invoke(
        main,
        ["reports", "rebuild"],
        env={"BROADCASTER_DATABASE_URL": url},
        obj=_Ctx(None, FakeClock(NOW)),
    )
    assert result.exit_code == 0, result.output
    assert "report roll-ups rebuilt: 8 days" in result.output  # 16/11 to 23/11
    with seeded.factory() as s:
        assert _tables(s) == incremental
    some = CliRunner().invoke(
        main,
        ["reports", "rebuild", "--from", "2026-11-22", "--to", "2026-11-23"],
        env={"BROADCASTER_DATABASE_URL": url},
        obj=_Ctx(None, FakeClock(NOW)),
    )
    assert some.exit_code == 0 and "rebuilt: 2 days" in some.output
    with seeded.factory() as s:
        assert _tables(s) == incremental
    bad = CliRunner().invoke(
        main,
        ["reports", "rebuild", "--from", "23/11/2026"],
        env={"BROADCASTER_DATABASE_URL": url},
        obj=_Ctx(None, FakeClock(NOW)),
    )
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_a_refresh_inside_a_writing_transaction_leaves_later_writes_marked(seeded: Seeded) -> None:
    """A transaction's marks are written once per (unit, day) (PostgreSQL remembers which in
    the transaction); a refresh in the same transaction takes them, so later writes mark anew."""
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
        add_playback(s, "dai-xa", seeded.flood, OUTAGE, "finished", item_id="t-1")
        add_playback(s, "dai-xa", seeded.vaccine, OUTAGE, "finished", item_id="t-2")
        s.flush()
        assert rollups.pending(s) == 1
        assert rollups.refresh(s, TZ) >= 1 and rollups.pending(s) == 0
        add_playback(s, "dai-xa", seeded.flood, OUTAGE + timedelta(minutes=5), "finished")
        s.flush()
        assert rollups.pending(s) == 1
        rollups.refresh(s, TZ)
        assert _same_report(s, MONTH)["total"]["planned"] == 10  # type: ignore[index]


def test_a_period_of_whole_months_and_edge_days_adds_up(seeded: Seeded) -> None:
    """A period with whole months reads them from the monthly level and its edge days from the
    daily one; a month whose days change (a refresh) or are cut (a rebuild of part of the log,
    a clear) keeps equal to its days."""
    with seeded.factory() as s, s.begin():
        for at, status in (
            (datetime(2026, 10, 20, 1, 0, tzinfo=UTC), "finished"),  # edge days before
            (datetime(2026, 10, 31, 20, 0, tzinfo=UTC), "interrupted"),  # 1/11 local: the month
            (datetime(2026, 12, 2, 2, 0, tzinfo=UTC), "finished"),  # edge days after
            (datetime(2026, 12, 20, 2, 0, tzinfo=UTC), "finished"),  # outside the period
        ):
            add_playback(s, "dai-xa", seeded.flood, at, status)
    with seeded.factory() as s, s.begin():
        rollups.refresh(s, TZ)
        assert len(_tables(s)["month"]) >= 3  # October, November, December
    spans = ReportFilter(start=date(2026, 10, 15), end=date(2026, 12, 5))
    assert [m.__name__ for m, _, _ in rollup_reports.spans(spans.start, spans.end)] == [
        "ReportAnnouncementDay",
        "ReportAnnouncementMonth",
        "ReportAnnouncementDay",
    ]
    with seeded.factory() as s:
        figures = _same_report(s, spans)
        assert figures["total"]["planned"] == 10  # type: ignore[index]  # the seed's 7 + 3
        for f in (MONTH, ReportFilter(start=date(2026, 10, 1), end=date(2026, 12, 31))):
            _same_report(s, f)
    with seeded.factory() as s, s.begin():
        rollups.clear(s, date(2026, 11, 1), date(2026, 12, 10))  # October and 20/12 go
        _tables(s)
    with seeded.factory() as s, s.begin():
        rollups.rebuild(s, TZ, date(2026, 10, 1), date(2026, 12, 31))
        _tables(s)
        _same_report(s, spans)
