"""The life of an announcement after it is written: edit, duplicate, withdraw, cancel airings.

- **Edit** a draft or a rejected announcement (it stays so, its old audio dropped when what is
  said changes); an edit of one awaiting approval or approved is rendered at once and goes back
  to the approvers' queue (``submitted``): nothing edited airs unapproved.
- **Duplicate**: a new draft with the same text, zones, programme and campaign, by the user.
- **Withdraw** (the whole announcement: ``cancelled``), **cancel one airing**, or **cancel the
  rest of a series** (its item's ``valid_until`` ends before the airing), always with a reason,
  recorded as a :class:`~broadcaster.models.Cancellation` (who, when, why). Each is a change of
  the planner's inputs under a plan-mark trigger, so the scheduler's next tick (3 s) publishes
  the sites' new plans. The officers' log forgets the cancelled airings it still expected.

Who: the author (or an admin) edits; the author, approvers and admins withdraw and cancel, each
only within their units (``broadcaster.scope``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from audio.renderer import Renderer
from broadcaster.models import (
    Announcement,
    Cancellation,
    Emergency,
    Playback,
    ScheduleItem,
    User,
)
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES
from broadcaster.scope import Scope
from schedules import notices, workflow
from schedules.planner import item_airings
from schedules.recurrence import DEFAULT_TZ
from schedules.rendering import store_rendered
from schedules.workflow import NotAllowed, WorkflowError

logger = logging.getLogger(__name__)

EDITABLE = ("draft", "rejected", "submitted", "approved")
MAX_REASON = 2000
# How far ahead the upcoming airings are listed, and at most how many (twice a day for a
# quarter is 184).
UPCOMING_DAYS = 92
UPCOMING_LIMIT = 400


@dataclass(frozen=True)
class Edit:
    """What the edit form gives: the announcement's fields and its (one) schedule item."""

    title: str
    body: str
    zone_ids: tuple[str, ...]
    priority: str
    start_at: datetime
    rrule: str = ""
    slot_id: int | None = None
    campaign_id: int | None = None
    repeat: int | None = None


@dataclass(frozen=True)
class UpcomingAiring:
    """One airing ahead of ``now`` (or cancelled on its own), for the pages."""

    item_id: int
    start: datetime
    cancelled: bool


def is_emergency(session: Session, ann: Announcement) -> bool:
    """An emergency broadcast's announcement: fixed once sent (stop it instead)."""
    return bool(session.scalar(select(exists().where(Emergency.announcement_id == ann.id))))


def may_edit(session: Session, ann: Announcement, user: User) -> bool:
    return (
        ann.status in EDITABLE
        and user.role in EDIT_ROLES
        and (user.id == ann.author_id or user.role == "admin")
        and not is_emergency(session, ann)
    )


def may_cancel(session: Session, ann: Announcement, user: User) -> bool:
    return (
        ann.status != "cancelled"
        and (user.role in APPROVE_ROLES or (user.role in EDIT_ROLES and user.id == ann.author_id))
        and not is_emergency(session, ann)
    )


def edit(
    session: Session,
    ann: Announcement,
    user: User,
    change: Edit,
    render: Renderer,
    *,
    now: datetime,
    max_chars: int = 5000,
) -> Announcement:
    """Apply ``change``; an approved or submitted announcement is rendered again and waits for
    approval. WorkflowError (nothing changed, the caller rolls back) when it cannot be."""
    _check_scope(session, ann, user)
    if user.role not in EDIT_ROLES or (user.id != ann.author_id and user.role != "admin"):
        raise NotAllowed(f"only the author may edit announcement {ann.id}", "not-author-edit")
    _check_editable(session, ann)
    fields = workflow.checked_fields(
        session,
        user,
        title=change.title,
        body=change.body,
        zone_ids=change.zone_ids,
        priority=change.priority,
        max_chars=max_chars,
        campaign_id=change.campaign_id,
        repeat=change.repeat,
    )
    item = ann.schedule[0]
    checked = workflow.schedule_item(
        session, change.start_at, change.rrule, change.slot_id, item.valid_until
    )
    said = (ann.body, ann.repeat, sorted(z.id for z in ann.zones))
    for name, value in fields.items():
        setattr(ann, name, value)
    item.start_at, item.rrule, item.slot_id = checked.start_at, checked.rrule, checked.slot_id
    if item.valid_until is not None and item.valid_until < item.start_at:
        item.valid_until = None  # a cancelled rest that the new start has moved past
    session.flush()
    if ann.status in ("submitted", "approved"):
        was = ann.status
        try:
            rendered = workflow.render_audio(session, ann, render)
        except ValueError as exc:  # text the renderer refuses, e.g. nothing to say
            raise WorkflowError(str(exc), "unspeakable") from exc
        store_rendered(session, rendered)
        ann.media_sha256, ann.tts_engine = rendered.sha256, rendered.engine
        ann.status, ann.submitted_at = "submitted", now
        ann.approver_id, ann.decided_at = None, None
        _forget_expected(session, ann, now)
        session.flush()
        notices.record(session, "submitted", ann, user, now)  # the approvers hear of it again
        logger.info(
            "announcement %d (%s) edited by %s: back to approval", ann.id, was, user.username
        )
    else:
        if said != (ann.body, ann.repeat, sorted(z.id for z in ann.zones)):
            ann.media_sha256, ann.tts_engine = None, ""  # heard again after the next submit
        logger.info("announcement %d edited by %s", ann.id, user.username)
    session.flush()
    return ann


def duplicate(
    session: Session, ann: Announcement, user: User, *, start_at: datetime, now: datetime
) -> Announcement:
    """A new draft by ``user``: ``ann``'s text, zones, priority, programme and campaign, first
    airing at ``start_at``."""
    _check_scope(session, ann, user)
    item = ann.schedule[0]
    valid_until = item.valid_until if item.valid_until and item.valid_until >= start_at else None
    return workflow.create_announcement(
        session,
        user,
        title=ann.title,
        body=ann.body,
        zone_ids=[z.id for z in ann.zones],
        start_at=start_at,
        priority=ann.priority,
        category=ann.category,
        rrule=item.rrule,
        slot_id=item.slot_id,
        valid_until=valid_until,
        campaign_id=ann.campaign_id,
        repeat=ann.repeat,
        max_chars=max(len(ann.body), 1),
        now=now,
    )


def withdraw(
    session: Session, ann: Announcement, user: User, reason: str, *, now: datetime
) -> Cancellation:
    """Withdraw the whole announcement: it never airs again."""
    reason = _check_cancel(session, ann, user, reason)
    ann.status = "cancelled"
    row = _record(session, ann, user, "withdraw", None, None, reason, now)
    _forget_expected(session, ann, now)
    logger.warning("announcement %d withdrawn by %s: %s", ann.id, user.username, reason)
    return row


def cancel_airing(
    session: Session,
    ann: Announcement,
    user: User,
    item_id: int,
    airing_at: datetime,
    reason: str,
    *,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> Cancellation:
    """Cancel the one airing of item ``item_id`` at ``airing_at``; the others stay."""
    reason = _check_cancel(session, ann, user, reason)
    item = _airing_item(ann, item_id, airing_at, now, tz)
    row = _record(session, ann, user, "airing", item, airing_at, reason, now)
    session.execute(
        delete(Playback).where(
            Playback.item_id == item.occurrence_id(airing_at), Playback.status == "scheduled"
        )
    )
    logger.warning(
        "airing %s of announcement %d cancelled by %s: %s",
        item.occurrence_id(airing_at),
        ann.id,
        user.username,
        reason,
    )
    return row


def cancel_rest(
    session: Session,
    ann: Announcement,
    user: User,
    item_id: int,
    from_at: datetime,
    reason: str,
    *,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> Cancellation:
    """Cancel the airing of item ``item_id`` at ``from_at`` and every one after it."""
    reason = _check_cancel(session, ann, user, reason)
    item = _airing_item(ann, item_id, from_at, now, tz)
    item.valid_until = from_at - timedelta(seconds=1)
    row = _record(session, ann, user, "rest", item, from_at, reason, now)
    session.execute(
        delete(Playback).where(
            Playback.announcement_id == ann.id,
            Playback.item_id.like(f"s{item.id}-%"),
            Playback.scheduled_at >= from_at,
            Playback.status == "scheduled",
        )
    )
    logger.warning(
        "airings of announcement %d from %s cancelled by %s: %s",
        ann.id,
        from_at.isoformat(),
        user.username,
        reason,
    )
    return row


def upcoming(
    ann: Announcement,
    now: datetime,
    *,
    days: int = UPCOMING_DAYS,
    limit: int = UPCOMING_LIMIT,
    tz: str = DEFAULT_TZ,
) -> list[UpcomingAiring]:
    """The announcement's airings from ``now`` (at most ``limit`` in ``days``), with those
    cancelled one by one marked, in time order."""
    end = now + timedelta(days=days)
    out: list[UpcomingAiring] = []
    for item in ann.schedule:
        kept = {a.start for a in item_airings(item, now, end, tz, frozenset())}
        for start in kept:
            out.append(UpcomingAiring(item.id, start, False))
        for c in item.cancellations:
            if c.kind == "airing" and c.airing_at is not None and c.airing_at >= now:
                out.append(UpcomingAiring(item.id, c.airing_at, True))
    out.sort(key=lambda a: (a.start, a.item_id))
    return out[:limit]


# --- internals ---------------------------------------------------------------------------


def _check_scope(session: Session, ann: Announcement, user: User) -> None:
    if Scope.of(session, user).get(session, Announcement, ann.id) is None:
        raise NotAllowed(
            f"announcement {ann.id} is outside {user.username!r}'s units", "out-of-scope"
        )


def _check_editable(session: Session, ann: Announcement) -> None:
    if ann.status not in EDITABLE:
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; it cannot be edited",
            "not-editable-state",
            status=ann.status,
        )
    if is_emergency(session, ann):
        raise WorkflowError(f"announcement {ann.id} is an emergency broadcast", "emergency-fixed")


def _check_cancel(session: Session, ann: Announcement, user: User, reason: str) -> str:
    _check_scope(session, ann, user)
    if not (user.role in APPROVE_ROLES or (user.role in EDIT_ROLES and user.id == ann.author_id)):
        raise NotAllowed(
            f"user {user.username!r} ({user.role}) cannot cancel announcement {ann.id}",
            "cannot-cancel",
        )
    if ann.status == "cancelled":
        raise WorkflowError(f"announcement {ann.id} is withdrawn already", "already-withdrawn")
    if is_emergency(session, ann):
        raise WorkflowError(f"announcement {ann.id} is an emergency broadcast", "emergency-fixed")
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to cancel", "cancel-reason-required")
    return reason[:MAX_REASON]


def _airing_item(
    ann: Announcement, item_id: int, at: datetime, now: datetime, tz: str
) -> ScheduleItem:
    """The approved announcement's item with an airing at ``at``, still ahead."""
    if ann.status != "approved":
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only approved airings can be cancelled",
            "not-approved-cancel",
            status=ann.status,
        )
    item = next((i for i in ann.schedule if i.id == item_id), None)
    if at.tzinfo is None:
        raise WorkflowError("airing time has no timezone", "naive-time")
    if at <= now:
        raise WorkflowError(f"the airing at {at.isoformat()} has begun", "airing-passed")
    second = timedelta(seconds=1)
    if item is None or not any(
        a.start == at for a in item_airings(item, at - second, at + second, tz, frozenset())
    ):
        raise WorkflowError(
            f"announcement {ann.id} has no airing at {at.isoformat()}", "no-such-airing"
        )
    return item


def _record(
    session: Session,
    ann: Announcement,
    user: User,
    kind: str,
    item: ScheduleItem | None,
    at: datetime | None,
    reason: str,
    now: datetime,
) -> Cancellation:
    row = Cancellation(
        announcement=ann,
        schedule_item=item,
        kind=kind,
        airing_at=at,
        reason=reason,
        by_id=user.id,
        at=now,
    )
    session.add(row)
    session.flush()
    return row


def _forget_expected(session: Session, ann: Announcement, now: datetime) -> None:
    """The officers' log stops expecting the announcement's airings still ahead."""
    session.execute(
        delete(Playback).where(
            Playback.announcement_id == ann.id,
            Playback.status == "scheduled",
            Playback.scheduled_at > now,
        )
    )
