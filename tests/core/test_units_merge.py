"""`broadcaster units merge A B --into C`: zones, sites, users and programme move to C; airings
keep the unit they aired under (recorded at ingest), and a report across the merge adds up."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.cli import _Ctx, main
from broadcaster.clock import FakeClock
from broadcaster.db import make_engine, session_factory, transaction, upgrade
from broadcaster.ingest import Ingestor
from broadcaster.models import Announcement, Playback, Site, Unit, User, Zone
from broadcaster.publisher import MemoryPublisher
from broadcaster.queries import rollup_reports
from broadcaster.queries.reports import ReportFilter, report
from broadcaster.scope import Scope
from broadcaster.units import add_unit, by_code
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import workflow
from schedules.programme_import import import_demo

TZ = "Asia/Ho_Chi_Minh"
BEFORE = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # aired before the merge
MERGE = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
A_SITE, B_SITE = "cum-loa-t1", "dm-cum-loa-t3"


def _aired(ingestor: Ingestor, site: str, item: str, at: datetime, seq: int) -> None:
    events = [
        Event(
            id=str(uuid.uuid4()),
            site=site,
            outbox="ob",
            seq=seq + i,
            kind=kind,
            at=at + timedelta(seconds=30 * i),
            item_id=item,
            announcement_id=None,
            scheduled_at=at,
        )
        for i, kind in enumerate(("started", "finished"))
    ]
    ingestor.store_events(events)


def _units_of(session: Session, model: type, ids: list[str]) -> set[str]:
    rows = session.scalars(select(model).where(model.id.in_(ids)))  # type: ignore[attr-defined]
    return {r.unit.code for r in rows}


def test_merging_moves_the_commune_and_keeps_the_history(any_db_url: str) -> None:
    url = any_db_url
    engine = make_engine(url)
    factory = session_factory(engine)
    with transaction(factory) as s:
        import_demo(s)
        add_unit(s, "commune", "62009", "Xã Đắk Hà Mar", by_code(s, "62"))
        editor = s.scalars(select(User).where(User.username == "bientap-dh")).one()
        draft = workflow.create_announcement(
            s,
            editor,
            title="Lịch tiêm phòng",
            body="Tiêm phòng cho trẻ em.",
            zone_ids=["thon-1"],
            start_at=AFTER,
            now=BEFORE,
        )
        draft_id = draft.id
        # The plans published before the merge (airings are verified by being in them): two
        # airings before it, and one after it, not reported yet.
        s.add(Playback(site_id=A_SITE, item_id="a-1", scheduled_at=BEFORE, updated_at=BEFORE))
        s.add(Playback(site_id=B_SITE, item_id="b-1", scheduled_at=BEFORE, updated_at=BEFORE))
        s.add(Playback(site_id=A_SITE, item_id="later", scheduled_at=AFTER, updated_at=BEFORE))
    ingestor = Ingestor(
        factory, Signer.generate(), MemoryPublisher(), Topics("loa/v1"), clock=FakeClock(BEFORE)
    )
    _aired(ingestor, A_SITE, "a-1", BEFORE, 1)
    _aired(ingestor, B_SITE, "b-1", BEFORE, 1)
    whole = ReportFilter(start=date(2026, 11, 1), end=date(2026, 11, 30))
    with factory() as s, s.begin():
        assert report(s, whole, TZ).total.broadcasts == 2
        assert rollup_reports.report(s, whole, TZ).total.broadcasts == 2  # and refreshed

    result = CliRunner().invoke(
        main,
        ["units", "merge", "62001", "62002", "--into", "62009"],
        env={"BROADCASTER_DATABASE_URL": url},
        obj=_Ctx(None, FakeClock(MERGE)),
    )
    assert result.exit_code == 0, result.output
    assert "merged 62001, 62002 into 62009" in result.output
    with factory() as s:  # planned after the merge: it will air under the new unit
        later = s.scalars(select(Playback).where(Playback.item_id == "later")).one()
        assert later.unit_id == by_code(s, "62009").id

    ingestor.clock = FakeClock(AFTER)
    _aired(ingestor, A_SITE, "later", AFTER, 3)
    with factory() as s:
        zones = [z.id for z in s.scalars(select(Zone))]
        assert _units_of(s, Zone, zones) == {"62009"}
        assert _units_of(s, Site, [A_SITE, B_SITE, "dai-xa"]) == {"62009"}
        staff = s.scalars(select(User).where(User.username.in_(["bientap-dm", "canbo-dh"])))
        assert {u.unit.code for u in staff} == {"62009"}
        assert s.get(Announcement, draft_id).unit.code == "62009"  # type: ignore[union-attr]
        old = by_code(s, "62001")
        assert old.merged_into is not None and old.merged_into.code == "62009"
        # Each airing counts under the unit it aired under; the later one under the new unit.
        aired_under = {p.item_id: p.unit_id for p in s.scalars(select(Playback))}
        assert aired_under["a-1"] == old.id
        assert aired_under["b-1"] == by_code(s, "62002").id
        assert aired_under["later"] == by_code(s, "62009").id

        r = report(s, whole, TZ)
        by_commune = {line.label: line.broadcasts for line in r.by["commune"]}
        assert by_commune == {"Xã Đắk Hà": 1, "Xã Đắk Mar": 1, "Xã Đắk Hà Mar": 1}
        assert r.total.broadcasts == sum(by_commune.values()) == 3
        # The merged commune's report (and its staff's) holds its predecessors' history.
        merged = ReportFilter(start=whole.start, end=whole.end, commune="Xã Đắk Hà Mar")
        assert report(s, merged, TZ).total.broadcasts == 3
        officer = s.scalars(select(User).where(User.username == "canbo-dm")).one()
        assert report(s, whole, TZ, Scope.of(s, officer)).total.broadcasts == 3
        other = s.scalars(select(Unit).where(Unit.code == "62")).one()
        assert other.merged_into is None
        # The roll-ups say the same, through the merge, for the province and the merged commune
        # (whose roll-up lines hold its predecessors), and as the merged commune's officer.
        for f in (whole, merged, replace(whole, unit="62009"), replace(whole, unit="62")):
            assert rollup_reports.report(s, f, TZ).as_dict() == report(s, f, TZ).as_dict(), f
        as_officer = rollup_reports.report(s, whole, TZ, Scope.of(s, officer))
        assert as_officer.total.broadcasts == 3 and as_officer.unit.code == "62009"
        below = {x.label: x.broadcasts for x in as_officer.by["unit"]}
        assert below == {"Xã Đắk Hà Mar": 1, "Xã Đắk Hà": 1, "Xã Đắk Mar": 1}
        province = rollup_reports.report(s, replace(whole, unit="62"), TZ)
        assert {x.label: x.broadcasts for x in province.by["unit"]} == {"Xã Đắk Hà Mar": 3}
        s.commit()
    # A rebuild gives the same figures as the roll-ups kept along the way.
    with factory() as s:
        kept = rollup_reports.report(s, whole, TZ).as_dict()
    rebuilt = CliRunner().invoke(
        main, ["reports", "rebuild"], env={"BROADCASTER_DATABASE_URL": url}
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    with factory() as s:
        assert rollup_reports.report(s, whole, TZ, fresh=False).as_dict() == kept
    engine.dispose()


def test_merge_refuses_a_province_and_itself(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        import_demo(s)
    engine.dispose()
    env = {"BROADCASTER_DATABASE_URL": url}
    runner = CliRunner()
    bad = runner.invoke(main, ["units", "merge", "62", "--into", "62001"], env=env)
    assert bad.exit_code == 1 and "only communes and wards merge" in bad.output
    same = runner.invoke(main, ["units", "merge", "62001", "--into", "62001"], env=env)
    assert same.exit_code == 1 and "cannot merge into itself" in same.output
    listed = runner.invoke(main, ["units", "list"], env=env)
    assert listed.exit_code == 0 and "  62001  commune  Xã Đắk Hà" in listed.output
