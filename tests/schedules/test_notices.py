"""Workflow notices on SQLite and PostgreSQL: who hears of a submitted or rejected announcement,
by e-mail (a local SMTP server) and by webhook (a local HTTP server), and retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as email_policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.accounts import AccountError, create_user, set_contact
from broadcaster.db import make_engine, session_factory
from broadcaster.models import Announcement, User, WorkflowNotice
from broadcaster.units import add_unit
from schedules import notices
from tests.support.sinks import SmtpSink, WebhookSink

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def factory(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(any_db_url)
    yield session_factory(engine)
    engine.dispose()


def _world(factory: sessionmaker[Session]) -> int:
    """A province with two communes; approvers at each level; an editor's announcement in
    Đắk Hà. Returns the announcement's id."""
    with factory() as s, s.begin():
        root = add_unit(s, "province", "62", "Tỉnh Kon Tum")
        dh = add_unit(s, "commune", "62001", "Xã Đắk Hà", root)
        dm = add_unit(s, "commune", "62002", "Xã Đắk Mar", root)
        people = {
            "tinh": ("approver", root, "tinh@example.gov.vn", "+84 905 000 001"),
            "dh": ("approver", dh, "dh@example.gov.vn", ""),
            "dm": ("approver", dm, "dm@example.gov.vn", "0905000003"),
            "tacgia": ("editor", dh, "tacgia@example.gov.vn", ""),
            "nghi": ("approver", dh, "nghi@example.gov.vn", ""),  # disabled below
        }
        users = {}
        for name, (role, unit, email, phone) in people.items():
            users[name] = create_user(s, name, "a-long-password", role, name.title(), unit)
            set_contact(s, users[name], email, phone)
        users["nghi"].active = False
        ann = Announcement(
            title="Tiêm phòng cho đàn gia súc",
            body="Sáng mai tiêm phòng.",
            author_id=users["tacgia"].id,
            unit_id=dh.id,
            status="submitted",
        )
        s.add(ann)
        s.flush()
        notices.record(s, "submitted", ann, users["tacgia"], NOW)
        return ann.id


def _mails(smtp: SmtpSink) -> list:
    return [message_from_bytes(m, policy=email_policy) for m in smtp.messages]


def test_approvers_over_the_unit_hear_by_mail_and_webhook(
    factory: sessionmaker[Session], smtp: SmtpSink, webhook_sink: WebhookSink
) -> None:
    ann_id = _world(factory)
    channels = notices.Channels(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        webhook_url=webhook_sink.url,
        public_url="https://loa.example.gov.vn",
    )
    assert notices.deliver_due(factory, channels, NOW) == 1
    [mail] = _mails(smtp)
    # The province's and Đắk Hà's approvers; not Đắk Mar's, not the author, not a disabled one.
    assert sorted(a.strip() for a in mail["To"].split(",")) == [
        "dh@example.gov.vn",
        "tinh@example.gov.vn",
    ]
    assert "Chờ duyệt" in mail["Subject"] and "Tiêm phòng cho đàn gia súc" in mail["Subject"]
    body = mail.get_content()
    assert f"https://loa.example.gov.vn/announcements/{ann_id}" in body
    assert (
        "đang chờ duyệt" in body and "waiting for approval" in body and "08:00 02/03/2026" in body
    )
    [hook] = webhook_sink.received
    assert hook["event"] == "submitted" and hook["announcement"]["id"] == ann_id
    assert [(r["username"], r["phone"]) for r in hook["recipients"]] == [
        ("dh", ""),
        ("tinh", "+84 905 000 001"),
    ]
    assert "chờ duyệt" in hook["text"]
    assert notices.deliver_due(factory, channels, NOW + timedelta(minutes=5)) == 0  # sent once
    assert len(smtp.messages) == 1 and len(webhook_sink.received) == 1

    # Rejected: the author hears why.
    with factory() as s, s.begin():
        ann = s.get(Announcement, ann_id)
        assert ann is not None
        ann.status, ann.reject_reason = "rejected", "Sai ngày tiêm."
        approver = s.scalars(select(User).where(User.username == "dh")).one()
        notices.record(s, "rejected", ann, approver, NOW + timedelta(minutes=6))
    notices.deliver_due(factory, channels, NOW + timedelta(minutes=6))
    rejected = _mails(smtp)[1]
    assert rejected["To"] == "tacgia@example.gov.vn"
    assert "Bị từ chối" in rejected["Subject"] and "Sai ngày tiêm." in rejected.get_content()
    assert webhook_sink.received[1]["announcement"]["reject_reason"] == "Sai ngày tiêm."


def test_a_failing_webhook_is_retried_later_and_mail_is_not_sent_twice(
    factory: sessionmaker[Session], smtp: SmtpSink, webhook_sink: WebhookSink
) -> None:
    _world(factory)
    channels = notices.Channels(
        smtp_host="127.0.0.1", smtp_port=smtp.port, webhook_url=webhook_sink.url
    )
    webhook_sink.status = 503
    assert notices.deliver_due(factory, channels, NOW) == 0
    with factory() as s:
        [notice] = s.scalars(select(WorkflowNotice)).all()
        assert notice.email_sent and not notice.webhook_sent and not notice.done
        assert notice.attempts == 1 and "503" in notice.last_error
        assert notice.next_try_at == NOW + notices.FIRST_RETRY
    assert notices.deliver_due(factory, channels, NOW + timedelta(seconds=10)) == 0  # not due
    webhook_sink.status = 204
    assert notices.deliver_due(factory, channels, NOW + notices.FIRST_RETRY) == 1
    assert len(smtp.messages) == 1 and len(webhook_sink.received) == 1
    with factory() as s:
        notice = s.scalars(select(WorkflowNotice)).one()
        assert notice.done and notice.last_error == "" and notice.attempts == 2


def test_without_channels_a_notice_is_done_quietly(factory: sessionmaker[Session]) -> None:
    _world(factory)
    assert notices.deliver_due(factory, notices.Channels(), NOW) == 1


@pytest.mark.parametrize(
    ("email", "phone"), [("not-an-address", None), (None, "call me"), ("a@b", None)]
)
def test_contact_details_are_checked(factory: sessionmaker[Session], email, phone) -> None:
    with factory() as s, s.begin():
        user = create_user(
            s, "x", "a-long-password", "editor", "X", add_unit(s, "province", "62", "Tỉnh")
        )
        with pytest.raises(AccountError):
            set_contact(s, user, email, phone)
