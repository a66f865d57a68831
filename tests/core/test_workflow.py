"""The announcement workflow: approval is enforced on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from broadcaster.models import utcnow
from schedules import workflow
from schedules.workflow import NotAllowed, WorkflowError


def draft(session, users, **kw):
    args = dict(
        title="Tiêm chủng",
        body="Trạm Y tế xã thông báo lịch tiêm chủng.",
        zone_ids=["thon-1"],
        start_at=utcnow() + timedelta(minutes=5),
    )
    args.update(kw)
    return workflow.create_announcement(session, users["editor"], **args)


def test_full_path_draft_submit_approve(session, users, renderer) -> None:
    ann = draft(session, users)
    assert ann.status == "draft"
    workflow.submit(session, ann, users["editor"], renderer)
    assert ann.status == "submitted" and ann.media_sha256 and ann.tts_engine == "fake"
    workflow.approve(session, ann, users["approver"])
    assert ann.status == "approved" and ann.approver_id == users["approver"].id


def test_author_cannot_approve_own_announcement(session, users, renderer) -> None:
    admin = users["admin"]
    ann = workflow.create_announcement(
        session,
        admin,
        title="T",
        body="Nội dung",
        zone_ids=["thon-1"],
        start_at=utcnow() + timedelta(minutes=5),
    )
    workflow.submit(session, ann, admin, renderer)
    with pytest.raises(NotAllowed, match="cannot decide"):
        workflow.approve(session, ann, admin)
    assert ann.status == "submitted"


def test_roles_are_enforced(session, users, renderer) -> None:
    with pytest.raises(NotAllowed):
        draft(session, {"editor": users["officer"]})
    ann = draft(session, users)
    workflow.submit(session, ann, users["editor"], renderer)
    with pytest.raises(NotAllowed):
        workflow.approve(session, ann, users["officer"])


def test_only_submitted_can_be_approved(session, users) -> None:
    ann = draft(session, users)
    with pytest.raises(WorkflowError, match="only submitted"):
        workflow.approve(session, ann, users["approver"])


def test_past_time_is_refused_and_can_be_moved(session, users, renderer) -> None:
    ann = draft(session, users, start_at=utcnow() + timedelta(seconds=1))
    workflow.submit(session, ann, users["editor"], renderer)
    with pytest.raises(WorkflowError, match="has passed or is too close"):
        workflow.approve(session, ann, users["approver"], now=utcnow() + timedelta(seconds=5))
    later = utcnow() + timedelta(minutes=2)
    workflow.approve(session, ann, users["approver"], start_at=later)
    assert ann.schedule[0].start_at == later


def test_reject_needs_a_reason_and_allows_resubmit(session, users, renderer) -> None:
    ann = draft(session, users)
    workflow.submit(session, ann, users["editor"], renderer)
    with pytest.raises(WorkflowError, match="reason"):
        workflow.reject(session, ann, users["approver"], "  ")
    workflow.reject(session, ann, users["approver"], "Sai ngày")
    assert ann.status == "rejected" and ann.reject_reason == "Sai ngày"
    workflow.submit(session, ann, users["editor"], renderer)
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
