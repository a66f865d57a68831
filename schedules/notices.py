"""Workflow notices (issue 13): approvers hear that an announcement waits for them, its author
that it was rejected, by e-mail and by webhook (an SMS or Zalo gateway can take the webhook).

``record`` writes a ``WorkflowNotice`` in the workflow's own transaction, so a notice is never
lost and never sent for a change that rolled back; ``deliver_due`` (a scheduler job) sends what
is due, one notice per transaction, and tries a failing channel again later (doubling the wait,
up to an hour; it gives up after ``MAX_ATTEMPTS`` and logs it). Recipients are found when the
notice goes out: approvers whose unit holds the announcement's (an approver approves within
their subtree, never their own), or the author."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import NOTICE_EVENTS, Announcement, User, WorkflowNotice
from broadcaster.outbound import OutboundError, post_json, send_mail
from broadcaster.roles import APPROVE_ROLES
from broadcaster.units import ancestors

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
BATCH = 100


@dataclass(frozen=True)
class Channels:
    """Where notices go: e-mail through an SMTP server, and a webhook. Either may be off."""

    smtp_host: str = ""
    smtp_port: int = 25
    email_from: str = "broadcaster@localhost"
    webhook_url: str = ""
    public_url: str = ""  # the web's base URL, for links in the messages
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_settings(cls, settings: Any) -> Channels:
        return cls(
            smtp_host=settings.alert_smtp_host,
            smtp_port=settings.alert_smtp_port,
            email_from=settings.alert_email_from,
            webhook_url=settings.notify_webhook_url,
            public_url=settings.public_url.rstrip("/"),
            timezone=settings.timezone,
        )


def record(session: Session, event: str, ann: Announcement, actor: User, now: datetime) -> None:
    """Keep a notice of ``event`` on ``ann`` by ``actor``, to go out after the commit."""
    if event not in NOTICE_EVENTS:
        raise ValueError(f"unknown notice event {event!r}")
    session.add(
        WorkflowNotice(
            event=event,
            announcement_id=ann.id,
            actor_id=actor.id,
            created_at=now,
            next_try_at=now,
        )
    )


def recipients(session: Session, notice: WorkflowNotice) -> list[User]:
    """Who hears of ``notice``: active approvers over the announcement's unit (not its author)
    for "submitted"; the author for "rejected"."""
    ann = notice.announcement
    if notice.event == "rejected":
        return [ann.author] if ann.author.active else []
    units = [u.id for u in ancestors(ann.unit)]
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.role.in_(APPROVE_ROLES),
                User.unit_id.in_(units),
                User.id != ann.author_id,
            )
            .order_by(User.username)
        )
    )


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # e-mail body, Vietnamese then English
    short: str  # one line for SMS


def compose(notice: WorkflowNotice, channels: Channels) -> Message:
    ann, actor = notice.announcement, notice.actor
    when = notice.created_at.astimezone(ZoneInfo(channels.timezone)).strftime("%H:%M %d/%m/%Y")
    link = f"{channels.public_url}/announcements/{ann.id}"
    unit = ann.unit.name
    if notice.event == "submitted":
        return Message(
            subject=f"[Phát thanh] Chờ duyệt: «{ann.title}» / Waiting for approval",
            text=(
                f"Bản tin «{ann.title}» ({unit}) do {actor.display_name} gửi lúc {when} "
                f"đang chờ duyệt.\nMở: {link}\n\n"
                f"The announcement “{ann.title}” ({unit}) sent by {actor.display_name} at "
                f"{when} is waiting for approval.\nOpen: {link}\n"
            ),
            short=f"Bản tin «{ann.title}» ({unit}) đang chờ duyệt: {link}",
        )
    reason = ann.reject_reason or "—"
    return Message(
        subject=f"[Phát thanh] Bị từ chối: «{ann.title}» / Rejected",
        text=(
            f"Bản tin «{ann.title}» ({unit}) đã bị {actor.display_name} từ chối lúc {when}.\n"
            f"Lý do: {reason}\nSửa và gửi lại: {link}\n\n"
            f"The announcement “{ann.title}” ({unit}) was rejected by {actor.display_name} "
            f"at {when}.\nReason: {reason}\nEdit and resubmit: {link}\n"
        ),
        short=f"Bản tin «{ann.title}» bị từ chối: {reason}. {link}",
    )


def webhook_body(notice: WorkflowNotice, people: list[User], message: Message) -> dict[str, Any]:
    ann = notice.announcement
    return {
        "event": notice.event,
        "at": notice.created_at.isoformat(),
        "announcement": {
            "id": ann.id,
            "title": ann.title,
            "unit": ann.unit.name,
            "priority": ann.priority,
            "reject_reason": ann.reject_reason if notice.event == "rejected" else "",
        },
        "actor": {"username": notice.actor.username, "display_name": notice.actor.display_name},
        "recipients": [
            {
                "username": u.username,
                "display_name": u.display_name,
                "email": u.email,
                "phone": u.phone,
            }
            for u in people
        ],
        "text": message.short,
    }


def deliver_due(factory: sessionmaker[Session], channels: Channels, now: datetime) -> int:
    """Send every notice due at ``now``; return how many are now done."""
    with factory() as session:
        due = list(
            session.scalars(
                select(WorkflowNotice.id)
                .where(WorkflowNotice.done.is_(False), WorkflowNotice.next_try_at <= now)
                .order_by(WorkflowNotice.id)
                .limit(BATCH)
            )
        )
    finished = 0
    for notice_id in due:
        with factory() as session, session.begin():
            notice = session.get(WorkflowNotice, notice_id)
            if notice is None or notice.done:
                continue
            _deliver(session, notice, channels, now)
            finished += notice.done
    return finished


def _deliver(session: Session, notice: WorkflowNotice, channels: Channels, now: datetime) -> None:
    people = recipients(session, notice)
    message = compose(notice, channels)
    errors: list[str] = []
    if not notice.email_sent:
        to = [u.email for u in people if u.email]
        if not channels.smtp_host or not to:
            notice.email_sent = True  # nothing to send this way
        else:
            try:
                send_mail(
                    channels.smtp_host, channels.smtp_port, channels.email_from, to,
                    message.subject, message.text,
                )  # fmt: skip
                notice.email_sent = True
            except OutboundError as exc:
                errors.append(str(exc))
    if not notice.webhook_sent:
        if not channels.webhook_url or not people:
            notice.webhook_sent = True
        else:
            try:
                post_json(channels.webhook_url, webhook_body(notice, people, message))
                notice.webhook_sent = True
            except OutboundError as exc:
                errors.append(str(exc))
    notice.attempts += 1
    if not errors:
        notice.done, notice.last_error = True, ""
        logger.info("notice %d (%s) sent to %d people", notice.id, notice.event, len(people))
        return
    notice.last_error = "; ".join(errors)[:2000]
    if notice.attempts >= MAX_ATTEMPTS:
        notice.done = True
        logger.error(
            "notice %d given up after %d tries: %s", notice.id, notice.attempts, notice.last_error
        )
        return
    wait = min(FIRST_RETRY * 2 ** (notice.attempts - 1), LONGEST_RETRY)
    notice.next_try_at = now + wait
    logger.warning(
        "notice %d not sent (try %d, again in %s): %s",
        notice.id,
        notice.attempts,
        wait,
        notice.last_error,
    )
