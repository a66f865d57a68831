"""Save-time checks: clashes of a draft with the approved programme, and a proposed free place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules import workflow
from schedules.checks import check_announcement

from .conftest import make_slot, media_row

NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 07:00 in Vietnam


def test_a_draft_that_overlaps_is_reported_with_the_next_free_place(session, users, add_approved):
    other = add_approved(NOW + timedelta(hours=2), seconds=600, zones=("thon-1",))
    draft = workflow.create_announcement(
        session,
        users["editor"],
        title="Họp",
        body="Mời họp.",
        zone_ids=["thon-1"],
        start_at=NOW + timedelta(hours=2, minutes=5),
        now=NOW,
    )
    draft.media = media_row(session, 120, "draft")
    findings = check_announcement(session, draft, now=NOW)
    assert {f.site_id for f in findings} == {"dai-xa", "cum-loa-t1"}
    f = findings[0]
    assert f.kind == "moved" and f.blocked_by == (
        f"s{other.schedule[0].id}-{int((NOW + timedelta(hours=2)).timestamp())}",
    )
    assert f.proposed == NOW + timedelta(hours=2, minutes=10, seconds=2)


def test_slot_overflow_is_found_before_saving(session, users, add_approved):
    slot = make_slot(session, "Buổi sáng", "06:00", "06:05")
    add_approved(NOW, slot=slot, seconds=280, zones=("thon-2",))
    draft = workflow.create_announcement(
        session,
        users["editor"],
        title="Tiêm chủng",
        body="Tiêm chủng mở rộng.",
        zone_ids=["thon-2"],
        start_at=NOW,
        slot_id=slot.id,
        now=NOW,
    )
    draft.media = media_row(session, 60, "d2")
    kinds = {(f.site_id, f.kind) for f in check_announcement(session, draft, now=NOW, days=1)}
    assert kinds == {("dai-xa", "overflow"), ("cum-loa-t2", "overflow")}


def test_no_findings_when_the_draft_fits(session, users, add_approved):
    add_approved(NOW + timedelta(hours=1), seconds=60, zones=("thon-2",))
    draft = workflow.create_announcement(
        session,
        users["editor"],
        title="Họp",
        body="Mời họp.",
        zone_ids=["thon-1"],
        start_at=NOW + timedelta(hours=1),
        rrule="FREQ=DAILY;COUNT=3",
        now=NOW,
    )
    # thôn 1's cluster is free; only the commune station also carries thôn 2
    findings = check_announcement(session, draft, now=NOW)
    assert {f.site_id for f in findings} == {"dai-xa"}
    assert [f.kind for f in findings] == ["moved"]
