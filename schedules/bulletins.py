"""Bulletins down the tree (issue 11): an upper unit writes, a second person there approves,
then Thông tư 39/2020's class decides how each target commune gets it.

- normal (thông thường): the bulletin arrives in each commune's inbox; the commune's own staff
  accept it into their programme (a slot or a time) or decline it with a reason;
- priority (ưu tiên): it is placed in the next programme slot of every commune, ahead of the
  commune's own items of the same priority until the commune's staff put it behind them;
- emergency (khẩn cấp): it is sent at once as an emergency (``schedules.emergency``) to every
  site of the target communes, interrupting what plays.

A bulletin that airs in a commune becomes an ordinary approved announcement owned by that
commune (``BulletinDelivery.announcement``), so the planner, the plan cache, the agents, the
logs and the reports treat it as they treat every other airing. Only
``Announcement.precedence`` is new to the planner (``schedules.conflicts``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.lexicon_store import load_lexicon
from audio.renderer import Renderer
from broadcaster.commands import CommandPublisher
from broadcaster.models import (
    COMMUNE_KINDS,
    DEFAULT_REPEAT,
    Announcement,
    Bulletin,
    BulletinDelivery,
    ScheduleItem,
    Slot,
    Unit,
    User,
    Zone,
)
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES
from broadcaster.scope import Scope
from broadcaster.units import subtree_ids
from schedules import emergency
from schedules.recurrence import DEFAULT_TZ
from schedules.rendering import store_rendered
from schedules.slots import SlotSpec, next_window
from schedules.workflow import MIN_LEAD, NotAllowed, WorkflowError, checked_text

logger = logging.getLogger(__name__)

# The commune's staff who take a bulletin into their programme (officers only read).
ACCEPT_ROLES = ("editor", "approver", "admin")
# Announcement.precedence (schedules.conflicts): ahead of the commune's own, theirs, behind.
AHEAD, OWN, BEHIND = 0, 1, 2
MAX_REASON = 2000


# --- Writing and approving, at the sending unit ----------------------------------------------


def target_communes(session: Session, user: User) -> list[Unit]:
    """The communes ``user`` may send bulletins to: every current commune below their unit."""
    scope = Scope.of(session, user)
    return list(
        session.scalars(
            select(Unit)
            .where(
                scope.units(),
                Unit.kind.in_(COMMUNE_KINDS),
                Unit.merged_into_id.is_(None),
                Unit.id != user.unit_id,
            )
            .order_by(Unit.name)
        )
    )


def write_bulletin(
    session: Session,
    author: User,
    *,
    title: str,
    body: str,
    priority: str,
    commune_ids: Sequence[int],
    render: Renderer,
    now: datetime,
    max_chars: int = 5000,
) -> Bulletin:
    """A new bulletin, rendered and waiting for a second person of the sending unit."""
    if author.role not in EDIT_ROLES:
        raise NotAllowed(
            f"user {author.username!r} ({author.role}) cannot write bulletins", "cannot-write"
        )
    if author.unit.holds_zones:
        raise NotAllowed(
            f"user {author.username!r} is at a commune; bulletins go down from above",
            "not-upper-unit",
        )
    title, body = checked_text(title, body, priority, max_chars)
    communes = _communes(session, author, commune_ids)
    try:
        rendered = render(body, repeat=DEFAULT_REPEAT[priority], lexicon=load_lexicon(session))
    except ValueError as exc:
        raise WorkflowError(str(exc), "unspeakable") from exc
    media = store_rendered(session, rendered)
    bulletin = Bulletin(
        title=title,
        body=body,
        priority=priority,
        status="submitted",
        unit_id=author.unit_id,
        author_id=author.id,
        created_at=now,
        media_sha256=media.sha256,
        tts_engine=rendered.engine,
        deliveries=[BulletinDelivery(unit_id=u.id, state="pending") for u in communes],
    )
    session.add(bulletin)
    session.flush()
    logger.info(
        "bulletin %d (%s) written by %s for %d communes",
        bulletin.id,
        priority,
        author.username,
        len(communes),
    )
    return bulletin


def _communes(session: Session, author: User, commune_ids: Sequence[int]) -> list[Unit]:
    if not commune_ids:
        raise WorkflowError("pick at least one commune", "no-commune")
    allowed = {u.id: u for u in target_communes(session, author)}
    missing = sorted(set(commune_ids) - set(allowed))
    if missing:
        raise WorkflowError(
            f"unknown communes: {', '.join(map(str, missing))}",
            "unknown-communes",
            communes=", ".join(map(str, missing)),
        )
    return [allowed[i] for i in dict.fromkeys(commune_ids)]


def _check_decider(bulletin: Bulletin, user: User) -> None:
    """Four eyes at the sending unit: another approver of that same unit."""
    if user.role not in APPROVE_ROLES:
        raise NotAllowed(
            f"user {user.username!r} ({user.role}) cannot approve bulletins", "cannot-approve"
        )
    if user.id == bulletin.author_id:
        raise NotAllowed(
            f"user {user.username!r} wrote bulletin {bulletin.id} and cannot decide on it",
            "own-announcement",
        )
    if user.unit_id != bulletin.unit_id:
        raise NotAllowed(
            f"bulletin {bulletin.id} is decided at its sending unit, not by {user.username!r}",
            "not-sending-unit",
        )
    if bulletin.status != "submitted":
        raise WorkflowError(
            f"bulletin {bulletin.id} is {bulletin.status}; only submitted ones can be decided",
            "not-submitted",
            status=bulletin.status,
        )


def reject_bulletin(
    session: Session, bulletin: Bulletin, approver: User, reason: str, *, now: datetime
) -> Bulletin:
    _check_decider(bulletin, approver)
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to reject", "reason-required")
    bulletin.status = "rejected"
    bulletin.approver_id = approver.id
    bulletin.decided_at = now
    bulletin.reject_reason = reason[:MAX_REASON]
    session.flush()
    logger.info("bulletin %d rejected by %s", bulletin.id, approver.username)
    return bulletin


def approve_bulletin(
    session: Session, bulletin: Bulletin, approver: User, *, now: datetime, tz: str = DEFAULT_TZ
) -> Bulletin:
    """Approve, then deliver by priority. An emergency is recorded here; the caller commits and
    then sends its command with :func:`publish`."""
    _check_decider(bulletin, approver)
    slot = next_slot(session, now, tz) if bulletin.priority == "priority" else None
    if bulletin.priority == "priority" and slot is None:
        raise WorkflowError("there is no programme slot to place the bulletin in", "no-slot")
    bulletin.status = "approved"
    bulletin.approver_id = approver.id
    bulletin.decided_at = now
    if bulletin.priority == "emergency":
        _send_emergency(session, bulletin, approver, now)
    for d in bulletin.deliveries:
        d.received_at = now
        if bulletin.priority == "normal":
            d.state = "inbox"
        elif bulletin.priority == "priority":
            assert slot is not None
            d.announcement = _airing(
                session, bulletin, d, now, slot_id=slot.id, start_at=None, precedence=AHEAD
            )
            d.state = "placed"
        else:
            assert bulletin.emergency is not None
            d.announcement_id = bulletin.emergency.announcement_id
            d.state = "sent"
    session.flush()
    logger.info(
        "bulletin %d (%s) approved by %s", bulletin.id, bulletin.priority, approver.username
    )
    return bulletin


def next_slot(session: Session, now: datetime, tz: str = DEFAULT_TZ) -> Slot | None:
    """The programme slot whose next window opens first after ``now`` (and the lead)."""
    best: tuple[datetime, int, Slot] | None = None
    for slot in session.scalars(select(Slot)):
        w = next_window(SlotSpec.of(slot), now + MIN_LEAD, tz)
        if w is not None and (best is None or (w.start, slot.id) < best[:2]):
            best = (w.start, slot.id, slot)
    return best[2] if best is not None else None


def _send_emergency(session: Session, bulletin: Bulletin, approver: User, now: datetime) -> None:
    units = {i for d in bulletin.deliveries for i in subtree_ids(session, d.unit_id)}
    zones = session.scalars(select(Zone.id).where(Zone.unit_id.in_(units)).order_by(Zone.id))
    draft = emergency.Draft(
        zone_ids=tuple(zones),
        reason=f"{bulletin.unit.name}: {bulletin.title}",
        title=bulletin.title,
        text=bulletin.body,
    )
    em = emergency.send_emergency(session, approver, draft, media=bulletin.media, now=now)
    em.announcement.author_id = bulletin.author_id  # written by one, sent by the other
    bulletin.emergency = em


def publish(
    session: Session, bulletin: Bulletin, commands: CommandPublisher, public_url: str
) -> str | None:
    """Send an approved emergency bulletin's play-now command (after the approval is
    committed; a broker outage loses nothing: the plans carry the airing)."""
    if bulletin.emergency is None:
        return None
    return emergency.publish_emergency(session, bulletin.emergency, commands, public_url)


# --- At the commune: the inbox -----------------------------------------------------------------


def _check_commune_staff(session: Session, delivery: BulletinDelivery, user: User) -> None:
    """Only the target commune's own staff decide (not the province on its behalf)."""
    if user.role not in ACCEPT_ROLES:
        raise NotAllowed(
            f"user {user.username!r} ({user.role}) cannot take bulletins", "cannot-accept"
        )
    if user.unit_id not in subtree_ids(session, delivery.unit_id):
        raise NotAllowed(
            f"bulletin delivery {delivery.id} is for the commune's own staff",
            "not-commune-staff",
        )


def _check_state(delivery: BulletinDelivery, state: str) -> None:
    if delivery.state != state:
        raise WorkflowError(
            f"bulletin delivery {delivery.id} is {delivery.state}, not {state}",
            "delivery-state",
            status=delivery.state,
        )


def accept(
    session: Session,
    delivery: BulletinDelivery,
    user: User,
    *,
    now: datetime,
    slot_id: int | None = None,
    start_at: datetime | None = None,
) -> Announcement:
    """Take a normal bulletin into the commune's programme: in ``slot_id``'s next window or at
    ``start_at``; it airs as the commune's own approved announcement."""
    _check_commune_staff(session, delivery, user)
    _check_state(delivery, "inbox")
    if (slot_id is None) == (start_at is None):
        raise WorkflowError("choose a slot or a time", "slot-or-time")
    if start_at is not None:
        if start_at.tzinfo is None:
            raise WorkflowError("airing time has no timezone", "naive-time")
        if start_at < now + MIN_LEAD:
            raise WorkflowError(
                f"the airing time {start_at.isoformat()} has passed or is too close; "
                "choose a later time",
                "too-late",
            )
    elif session.get(Slot, slot_id) is None:
        raise WorkflowError(f"unknown slot {slot_id}", "unknown-slot", id=slot_id)
    ann = _airing(session, delivery.bulletin, delivery, now, slot_id=slot_id, start_at=start_at)
    delivery.announcement = ann
    delivery.state = "accepted"
    delivery.decided_by_id = user.id
    delivery.decided_at = now
    session.flush()
    logger.info("bulletin delivery %d accepted by %s", delivery.id, user.username)
    return ann


def decline(
    session: Session, delivery: BulletinDelivery, user: User, reason: str, *, now: datetime
) -> BulletinDelivery:
    _check_commune_staff(session, delivery, user)
    _check_state(delivery, "inbox")
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to decline", "decline-reason-required")
    delivery.state = "declined"
    delivery.reason = reason[:MAX_REASON]
    delivery.decided_by_id = user.id
    delivery.decided_at = now
    session.flush()
    logger.info("bulletin delivery %d declined by %s", delivery.id, user.username)
    return delivery


def set_order(
    session: Session, delivery: BulletinDelivery, user: User, *, ahead: bool, now: datetime
) -> BulletinDelivery:
    """Where a priority bulletin meets the commune's own priority items: ahead of them (the
    default) or behind them, as the commune's staff choose."""
    _check_commune_staff(session, delivery, user)
    _check_state(delivery, "placed")
    assert delivery.announcement is not None
    delivery.announcement.precedence = AHEAD if ahead else BEHIND
    delivery.decided_by_id = user.id
    delivery.decided_at = now
    session.flush()
    logger.info(
        "bulletin delivery %d put %s the commune's own by %s",
        delivery.id,
        "ahead of" if ahead else "behind",
        user.username,
    )
    return delivery


def _airing(
    session: Session,
    bulletin: Bulletin,
    delivery: BulletinDelivery,
    now: datetime,
    *,
    slot_id: int | None,
    start_at: datetime | None,
    precedence: int = OWN,
) -> Announcement:
    """The commune's approved announcement that airs the bulletin on every zone it has."""
    units = subtree_ids(session, delivery.unit_id)
    zones = list(session.scalars(select(Zone).where(Zone.unit_id.in_(units)).order_by(Zone.id)))
    if not zones:
        raise WorkflowError(f"commune {delivery.unit_id} has no zones", "no-zone")
    when = start_at if start_at is not None else (now + MIN_LEAD).replace(microsecond=0)
    ann = Announcement(
        title=bulletin.title,
        body=bulletin.body,
        category="",
        priority=bulletin.priority,
        status="approved",
        author_id=bulletin.author_id,
        approver_id=bulletin.approver_id,
        unit_id=delivery.unit_id,
        created_at=now,
        submitted_at=bulletin.created_at,
        decided_at=now,
        media_sha256=bulletin.media_sha256,
        tts_engine=bulletin.tts_engine,
        zones=zones,
        repeat=DEFAULT_REPEAT[bulletin.priority],
        precedence=precedence,
    )
    ann.schedule.append(ScheduleItem(start_at=when, slot_id=slot_id))
    session.add(ann)
    session.flush()
    return ann
