"""The announcement workflow: write, submit (render audio), approve or reject.

This is the one service layer that the web UI, the JSON API, the CLI and ``demo --check`` use.
Approval is enforced here, on the server: an author never approves their own announcement and
nothing unapproved ever reaches a plan (the planner reads approved announcements only).

Each step is stamped ``now``, which callers read from their Clock (``broadcaster.clock``).
Approval needs it (it decides whether the airing is still ahead); create, submit and reject
stamp the wall clock when it is left out, which only the web app still does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from audio.lexicon_store import load_lexicon
from audio.render import Rendered
from audio.renderer import Renderer
from broadcaster.clock import SYSTEM_CLOCK
from broadcaster.models import (
    DEFAULT_REPEAT,
    MAX_REPEAT,
    Announcement,
    Campaign,
    ScheduleItem,
    Slot,
    User,
    Zone,
)
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES
from broadcaster.scope import Scope
from broadcaster.wire.plan import PRIORITIES
from schedules import notices
from schedules.recurrence import DEFAULT_TZ, RecurrenceError, next_occurrence, validate_rrule
from schedules.rendering import store_rendered

logger = logging.getLogger(__name__)

# An approval must leave agents time to fetch the plan and the audio.
MIN_LEAD = timedelta(seconds=10)


class WorkflowError(ValueError):
    """The request is invalid in the announcement's current state; the message says why.

    ``code`` is a stable identifier (e.g. ``"title-empty"``) that the web translates; ``params``
    holds the values the message names (ids, counts, states).
    """

    def __init__(self, message: str, code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), self.code, self.params))


class NotAllowed(PermissionError):
    """The user may not do this to this announcement; ``code`` is stable for translation."""

    def __init__(self, message: str, code: str = "not-allowed", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), self.code, self.params))


def _rebuild(cls: type, message: str, code: str, params: dict[str, object]) -> Exception:
    return cls(message, code, **params)  # type: ignore[no-any-return]


def render_audio(session: Session, ann: Announcement, render: Renderer) -> Rendered:
    """Render the body with its repeat count, the admins' lexicon as it is now (so a new entry
    applies at the next render) and the commune's voice."""
    commune = ann.zones[0].commune if ann.zones else None
    return render(ann.body, repeat=ann.repeat, lexicon=load_lexicon(session), commune=commune)


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
    rrule: str = "",
    slot_id: int | None = None,
    valid_until: datetime | None = None,
    campaign_id: int | None = None,
    repeat: int | None = None,
    now: datetime | None = None,
) -> Announcement:
    """A new draft airing at ``start_at``: once, or recurring by ``rrule`` from it.

    ``slot_id`` places each airing into the next window of that slot; ``valid_until`` ends
    every airing after it; ``campaign_id`` attaches the announcement to a campaign;
    ``repeat`` (how many times it is said) defaults by priority (``DEFAULT_REPEAT``).
    """
    if author.role not in EDIT_ROLES:
        raise NotAllowed(
            f"user {author.username!r} ({author.role}) cannot write announcements", "cannot-write"
        )
    fields = checked_fields(
        session,
        author,
        title=title,
        body=body,
        zone_ids=zone_ids,
        priority=priority,
        max_chars=max_chars,
        campaign_id=campaign_id,
        repeat=repeat,
    )
    item = schedule_item(session, start_at, rrule, slot_id, valid_until)
    ann = Announcement(
        **fields,
        category=category,
        status="draft",
        author_id=author.id,
        unit_id=author.unit_id,
        created_at=now or SYSTEM_CLOCK.now(),
    )
    ann.schedule.append(item)
    session.add(ann)
    session.flush()
    logger.info("announcement %d created by %s", ann.id, author.username)
    return ann


def checked_text(title: str, body: str, priority: str, max_chars: int) -> tuple[str, str]:
    """The title and text stripped, or a WorkflowError: neither empty, neither too long, and a
    known priority (announcements and bulletins alike)."""
    title, body = title.strip(), body.strip()
    if not title:
        raise WorkflowError("title is empty", "title-empty")
    if len(title) > 200:
        raise WorkflowError(
            f"title is {len(title)} characters long; at most 200", "title-long", n=len(title)
        )
    if not body:
        raise WorkflowError("text is empty", "text-empty")
    if len(body) > max_chars:
        raise WorkflowError(
            f"text is {len(body)} characters long; at most {max_chars}",
            "text-long",
            n=len(body),
            max=max_chars,
        )
    if priority not in PRIORITIES:
        raise WorkflowError(f"unknown priority {priority!r}", "unknown-priority")
    return title, body


def checked_fields(
    session: Session,
    user: User,
    *,
    title: str,
    body: str,
    zone_ids: Sequence[str],
    priority: str,
    max_chars: int,
    campaign_id: int | None,
    repeat: int | None,
) -> dict[str, object]:
    """An announcement's own fields, checked (WorkflowError names what is wrong): title, body,
    priority, zones and campaign within ``user``'s units, repeat (by priority when None)."""
    title, body = checked_text(title, body, priority, max_chars)
    scope = Scope.of(session, user)
    if campaign_id is not None and scope.get(session, Campaign, campaign_id) is None:
        raise WorkflowError(f"unknown campaign {campaign_id}", "unknown-campaign", id=campaign_id)
    if repeat is None:
        repeat = DEFAULT_REPEAT[priority]
    if not 1 <= repeat <= MAX_REPEAT:
        raise WorkflowError(
            f"repeat must be 1..{MAX_REPEAT}, not {repeat}", "bad-repeat", max=MAX_REPEAT
        )
    return {
        "title": title,
        "body": body,
        "priority": priority,
        "zones": _zones(session, zone_ids, scope),
        "campaign_id": campaign_id,
        "repeat": repeat,
    }


def submit(
    session: Session,
    ann: Announcement,
    user: User,
    render: Renderer,
    *,
    now: datetime | None = None,
) -> Announcement:
    """Render the audio and put the announcement in the approvers' queue."""
    if user.id != ann.author_id and user.role != "admin":
        raise NotAllowed(f"only the author may submit announcement {ann.id}", "not-author")
    _check_in_scope(session, ann, user)
    if ann.status not in ("draft", "rejected"):
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only drafts can be submitted",
            "not-draft",
            status=ann.status,
        )
    try:
        rendered = render_audio(session, ann, render)
    except ValueError as exc:  # text the renderer refuses, e.g. nothing to say once normalized
        raise WorkflowError(str(exc), "unspeakable") from exc
    store_rendered(session, rendered)
    ann.media_sha256 = rendered.sha256
    ann.tts_engine = rendered.engine
    ann.status = "submitted"
    ann.submitted_at = now or SYSTEM_CLOCK.now()
    ann.reject_reason = ""
    session.flush()
    notices.record(session, "submitted", ann, user, ann.submitted_at)
    logger.info("announcement %d submitted; spoken by %s", ann.id, rendered.engine)
    return ann


def approve(
    session: Session,
    ann: Announcement,
    approver: User,
    *,
    start_at: datetime | None = None,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> Announcement:
    """Approve for airing, optionally moving the (first) airing time."""
    _check_decider(session, ann, approver)
    if ann.status != "submitted":
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only submitted ones can be approved",
            "not-submitted",
            status=ann.status,
        )
    if ann.media_sha256 is None:
        raise WorkflowError(f"announcement {ann.id} has no rendered audio", "no-audio")
    if start_at is not None:
        if start_at.tzinfo is None:
            raise WorkflowError("airing time has no timezone", "naive-time")
        ann.schedule[0].start_at = start_at
    # A recurring item is fine while it still has an airing ahead; a one-off needs its time.
    upcoming = [next_occurrence(item, now + MIN_LEAD, tz=tz) for item in ann.schedule]
    if all(t is None for t in upcoming):
        first = min(item.start_at for item in ann.schedule)
        raise WorkflowError(
            f"the airing time {first.isoformat()} has passed or is too close; choose a later time",
            "too-late",
        )
    ann.status = "approved"
    ann.approver_id = approver.id
    ann.decided_at = now
    session.flush()
    logger.info("announcement %d approved by %s", ann.id, approver.username)
    return ann


def reject(
    session: Session,
    ann: Announcement,
    approver: User,
    reason: str,
    *,
    now: datetime | None = None,
) -> Announcement:
    _check_decider(session, ann, approver)
    if ann.status != "submitted":
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; only submitted ones can be rejected",
            "not-submitted-reject",
            status=ann.status,
        )
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to reject", "reason-required")
    ann.status = "rejected"
    ann.approver_id = approver.id
    ann.decided_at = now or SYSTEM_CLOCK.now()
    ann.reject_reason = reason[:2000]
    session.flush()
    notices.record(session, "rejected", ann, approver, ann.decided_at)
    logger.info("announcement %d rejected by %s", ann.id, approver.username)
    return ann


def _check_decider(session: Session, ann: Announcement, user: User) -> None:
    if user.role not in APPROVE_ROLES:
        raise NotAllowed(
            f"user {user.username!r} ({user.role}) cannot approve announcements", "cannot-approve"
        )
    if user.id == ann.author_id:
        raise NotAllowed(
            f"user {user.username!r} wrote announcement {ann.id} and cannot decide on it",
            "own-announcement",
        )
    _check_in_scope(session, ann, user)


def _check_in_scope(session: Session, ann: Announcement, user: User) -> None:
    """The user's units hold the announcement (an approver approves only within their unit)."""
    if Scope.of(session, user).get(session, Announcement, ann.id) is None:
        raise NotAllowed(
            f"announcement {ann.id} is outside {user.username!r}'s units", "out-of-scope"
        )


def _zones(session: Session, zone_ids: Sequence[str], scope: Scope) -> list[Zone]:
    """The zones asked for; one outside ``scope`` is as unknown as one that does not exist."""
    if not zone_ids:
        raise WorkflowError("pick at least one zone", "no-zone")
    zones = scope.zones_in(session, zone_ids)
    missing = sorted(set(zone_ids) - {z.id for z in zones})
    if missing:
        raise WorkflowError(
            f"unknown zones: {', '.join(missing)}", "unknown-zones", zones=", ".join(missing)
        )
    return zones


def schedule_item(
    session: Session,
    start_at: datetime,
    rrule: str,
    slot_id: int | None,
    valid_until: datetime | None,
) -> ScheduleItem:
    """A checked schedule item (not added to any announcement)."""
    if start_at.tzinfo is None:
        raise WorkflowError("airing time has no timezone", "naive-time")
    rrule = rrule.strip()
    if rrule:
        try:
            validate_rrule(rrule)
        except RecurrenceError as exc:
            raise WorkflowError(str(exc), "bad-rrule") from None
    if slot_id is not None and session.get(Slot, slot_id) is None:
        raise WorkflowError(f"unknown slot {slot_id}", "unknown-slot", id=slot_id)
    if valid_until is not None:
        if valid_until.tzinfo is None:
            raise WorkflowError("end date has no timezone", "naive-time")
        if valid_until < start_at:
            raise WorkflowError(
                f"the end {valid_until.isoformat()} is before the first airing", "ends-before-start"
            )
    return ScheduleItem(start_at=start_at, rrule=rrule, slot_id=slot_id, valid_until=valid_until)
