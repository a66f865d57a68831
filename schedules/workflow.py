"""The announcement workflow: write, submit (render audio), approve or reject.

This is the one service layer that the web UI, the JSON API, the CLI and ``demo --check`` use.
Approval is enforced here, on the server: an author never approves their own announcement and
nothing unapproved ever reaches a plan (the planner reads approved announcements only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from audio.render import Rendered, render_text
from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.store import MediaStore
from audio.tts import make_engine
from broadcaster.config import Settings
from broadcaster.models import (
    PRIORITIES,
    Announcement,
    Media,
    ScheduleItem,
    User,
    Zone,
    utcnow,
)

logger = logging.getLogger(__name__)

Renderer = Callable[[str], Rendered]

EDIT_ROLES = ("editor", "admin")
APPROVE_ROLES = ("approver", "admin")
# An approval must leave agents time to fetch the plan and the audio.
MIN_LEAD = timedelta(seconds=10)


class WorkflowError(ValueError):
    """The request is invalid in the announcement's current state; the message says why."""


class NotAllowed(PermissionError):
    """The user may not do this to this announcement."""


def make_renderer(settings: Settings) -> Renderer:
    """Text → mastered, stored audio with the configured engine."""
    engine = make_engine(settings)
    store = MediaStore(settings.media_dir)

    def render(text: str) -> Rendered:
        return render_text(text, engine=engine, store=store, max_chars=settings.max_text_chars)

    return render


def create_announcement(
    session: Session,
    author: User,
    *,
    title: str,
    body: str,
    zone_ids: Sequence[str],
    start_at: datetime,
    priority: str = "normal",
    category: str = "",
    max_chars: int = 5000,
) -> Announcement:
    """A new draft with one airing time."""
    if author.role not in EDIT_ROLES:
        raise NotAllowed(f"user {author.username!r} ({author.role}) cannot write announcements")
    title, body = title.strip(), body.strip()
    if not title:
        raise WorkflowError("title is empty")
    if len(title) > 200:
        raise WorkflowError(f"title is {len(title)} characters long; at most 200")
    if not body:
        raise WorkflowError("text is empty")
    if len(body) > max_chars:
        raise WorkflowError(f"text is {len(body)} characters long; at most {max_chars}")
    if priority not in PRIORITIES:
        raise WorkflowError(f"unknown priority {priority!r}")
    if start_at.tzinfo is None:
        raise WorkflowError("airing time has no timezone")
    zones = _zones(session, zone_ids)
    ann = Announcement(
        title=title,
        body=body,
        priority=priority,
        category=category,
        status="draft",
        author_id=author.id,
        zones=zones,
    )
    ann.schedule.append(ScheduleItem(start_at=start_at))
    session.add(ann)
    session.flush()
    logger.info("announcement %d created by %s", ann.id, author.username)
    return ann


def submit(session: Session, ann: Announcement, user: User, render: Renderer) -> Announcement:
    """Render the audio and put the announcement in the approvers' queue."""
    if user.id != ann.author_id and user.role != "admin":
        raise NotAllowed(f"only the author may submit announcement {ann.id}")
    if ann.status not in ("draft", "rejected"):
        raise WorkflowError(f"announcement {ann.id} is {ann.status}; only drafts can be submitted")
    rendered = render(ann.body)
    media = session.get(Media, rendered.sha256)
    if media is None:
        media = Media(
            sha256=rendered.sha256,
            ext=rendered.ext,
            size=rendered.size,
            duration_ms=rendered.duration_ms,
        )
        session.add(media)
    ann.media_sha256 = rendered.sha256
    ann.tts_engine = rendered.engine
    ann.status = "submitted"
    ann.submitted_at = _now()
    ann.reject_reason = ""
    session.flush()
    logger.info("announcement %d submitted; spoken by %s", ann.id, rendered.engine)
    return ann


def approve(
    session: Session,
    ann: Announcement,
    approver: User,
    *,
    start_at: datetime | None = None,
    now: datetime | None = None,
) -> Announcement:
    """Approve for airing, optionally moving the airing time."""
    _check_decider(ann, approver)
    if ann.status != "submitted":
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only submitted ones can be approved"
        )
    if ann.media_sha256 is None:
        raise WorkflowError(f"announcement {ann.id} has no rendered audio")
    now = now or _now()
    if start_at is not None:
        if start_at.tzinfo is None:
            raise WorkflowError("airing time has no timezone")
        ann.schedule[0].start_at = start_at
    first = min(item.start_at for item in ann.schedule)
    if first < now + MIN_LEAD:
        raise WorkflowError(
            f"the airing time {first.isoformat()} has passed or is too close; choose a later time"
        )
    ann.status = "approved"
    ann.approver_id = approver.id
    ann.decided_at = now
    session.flush()
    logger.info("announcement %d approved by %s", ann.id, approver.username)
    return ann


def reject(session: Session, ann: Announcement, approver: User, reason: str) -> Announcement:
    _check_decider(ann, approver)
    if ann.status != "submitted":
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only submitted ones can be rejected"
        )
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to reject")
    ann.status = "rejected"
    ann.approver_id = approver.id
    ann.decided_at = _now()
    ann.reject_reason = reason[:2000]
    session.flush()
    logger.info("announcement %d rejected by %s", ann.id, approver.username)
    return ann


def _check_decider(ann: Announcement, user: User) -> None:
    if user.role not in APPROVE_ROLES:
        raise NotAllowed(f"user {user.username!r} ({user.role}) cannot approve announcements")
    if user.id == ann.author_id:
        raise NotAllowed(
            f"user {user.username!r} wrote announcement {ann.id} and cannot decide on it"
        )


def _zones(session: Session, zone_ids: Sequence[str]) -> list[Zone]:
    if not zone_ids:
        raise WorkflowError("pick at least one zone")
    zones = list(session.scalars(select(Zone).where(Zone.id.in_(list(zone_ids)))))
    missing = sorted(set(zone_ids) - {z.id for z in zones})
    if missing:
        raise WorkflowError(f"unknown zones: {', '.join(missing)}")
    return zones


def _now() -> datetime:
    return utcnow()
