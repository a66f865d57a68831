"""The announcement workflow: approval is enforced on the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.clock import FakeClock
from schedules import workflow
from schedules.workflow import NotAllowed, WorkflowError
from tests.support.clock import FIXED_NOW


def draft(session, users, **kw):
    args = dict(
        title="Tiêm chủng",
        body="Trạm Y tế xã thông báo lịch tiêm chủng.",
        zone_ids=["thon-1"],
        start_at=FIXED_NOW + timedelta(minutes=5),
        now=FIXED_NOW,
    )
    args.update(kw)
    return workflow.create_announcement(session, users["editor"], **args)


def test_full_path_draft_submit_approve(session, users, renderer) -> None:
    ann = draft(session, users)
    assert ann.status == "draft"
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    assert ann.status == "submitted" and ann.media_sha256 and ann.tts_engine == "fake"
    workflow.approve(session, ann, users["approver"], now=FIXED_NOW)
    assert ann.status == "approved" and ann.approver_id == users["approver"].id


def test_every_step_is_stamped_by_the_injected_clock(session, users, renderer) -> None:
    """Years away from the wall clock: a time that is still ahead by the real clock has passed
    by the injected one, and the stamps are the injected clock's."""
    clock = FakeClock(datetime(2041, 6, 1, 1, 0, tzinfo=UTC))
    ann = draft(session, users, start_at=clock.now() + timedelta(minutes=5), now=clock.now())
    assert ann.created_at == clock.now()
    clock.advance(timedelta(minutes=1))
    workflow.submit(session, ann, users["editor"], renderer, now=clock.now())
    assert ann.submitted_at == clock.now()
    clock.advance(timedelta(minutes=10))
    with pytest.raises(WorkflowError, match="has passed"):
        workflow.approve(session, ann, users["approver"], now=clock.now())
    clock.set(datetime(2041, 6, 1, 1, 2, tzinfo=UTC))
    workflow.approve(session, ann, users["approver"], now=clock.now())
    assert ann.decided_at == datetime(2041, 6, 1, 1, 2, tzinfo=UTC)
    session.expire_all()
    assert (ann.created_at, ann.decided_at) == (
        datetime(2041, 6, 1, 1, 0, tzinfo=UTC),
        datetime(2041, 6, 1, 1, 2, tzinfo=UTC),
    )


def test_reject_is_stamped_by_the_injected_clock(session, users, renderer) -> None:
    ann = draft(session, users)
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    workflow.reject(session, ann, users["approver"], "Sai ngày", now=FIXED_NOW + timedelta(1))
    assert ann.decided_at == FIXED_NOW + timedelta(days=1)


def test_author_cannot_approve_own_announcement(session, users, renderer) -> None:
    admin = users["admin"]
    ann = workflow.create_announcement(
        session,
        admin,
        title="T",
        body="Nội dung",
        zone_ids=["thon-1"],
        start_at=FIXED_NOW + timedelta(minutes=5),
        now=FIXED_NOW,
    )
    workflow.submit(session, ann, admin, renderer, now=FIXED_NOW)
    with pytest.raises(NotAllowed, match="cannot decide"):
        workflow.approve(session, ann, admin, now=FIXED_NOW)
    assert ann.status == "submitted"


def test_roles_are_enforced(session, users, renderer) -> None:
    with pytest.raises(NotAllowed):
        draft(session, {"editor": users["officer"]})
    ann = draft(session, users)
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    with pytest.raises(NotAllowed):
        workflow.approve(session, ann, users["officer"], now=FIXED_NOW)


def test_only_submitted_can_be_approved(session, users) -> None:
    ann = draft(session, users)
    with pytest.raises(WorkflowError, match="only submitted"):
        workflow.approve(session, ann, users["approver"], now=FIXED_NOW)


def test_past_time_is_refused_and_can_be_moved(session, users, renderer) -> None:
    ann = draft(session, users, start_at=FIXED_NOW + timedelta(seconds=1))
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    with pytest.raises(WorkflowError, match="has passed or is too close"):
        workflow.approve(session, ann, users["approver"], now=FIXED_NOW + timedelta(seconds=5))
    later = FIXED_NOW + timedelta(minutes=2)
    workflow.approve(session, ann, users["approver"], start_at=later, now=FIXED_NOW)
    assert ann.schedule[0].start_at == later


def test_reject_needs_a_reason_and_allows_resubmit(session, users, renderer) -> None:
    ann = draft(session, users)
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    with pytest.raises(WorkflowError, match="reason"):
        workflow.reject(session, ann, users["approver"], "  ", now=FIXED_NOW)
    workflow.reject(session, ann, users["approver"], "Sai ngày", now=FIXED_NOW)
    assert ann.status == "rejected" and ann.reject_reason == "Sai ngày"
    workflow.submit(session, ann, users["editor"], renderer, now=FIXED_NOW)
    assert ann.status == "submitted" and ann.reject_reason == ""


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"title": " "}, "title is empty"),
        ({"body": ""}, "text is empty"),
        ({"body": "x" * 5001}, "at most 5000"),
        ({"zone_ids": []}, "at least one zone"),
        ({"zone_ids": ["thon-99"]}, "unknown zones: thon-99"),
        ({"priority": "siren"}, "unknown priority"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(session, users, kw, message) -> None:
    with pytest.raises(WorkflowError, match=message):
        draft(session, users, **kw)


def test_demo_programme_loads_coordinates(session) -> None:
    from broadcaster.models import Site

    site = session.get(Site, "dai-xa")
    assert site.latitude == pytest.approx(14.6712) and site.longitude == pytest.approx(107.9321)
