"""Emergency broadcasts: record, then play at once in the chosen zones, then follow each site.

An approver (or admin) picks zones, a typed message (rendered like any announcement, said three
times) or an approved announcement's audio, and a required reason. :func:`send_emergency`
records an approved ``emergency`` Announcement with one airing *now* (so the playback log and
the proof of broadcast see it) and an :class:`Emergency` row; :func:`publish_emergency` then
sends one signed play-now command per zone. The command's item id is the airing's occurrence
id, so if the scheduler's next plan also carries the airing the agent still plays it once.
:func:`site_progress` reads the sites' events back: delivered, playing, finished or failed, or
silent when a site has not confirmed the command in time
(:mod:`schedules.emergency_delivery` re-sends it and raises an alert).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.lexicon_store import load_lexicon
from audio.renderer import Renderer
from broadcaster.commands import CommandPublisher, play_now_item
from broadcaster.models import (
    DEFAULT_REPEAT,
    Announcement,
    Emergency,
    EmergencyDelivery,
    Media,
    PlaybackEvent,
    ScheduleItem,
    Site,
    User,
    Zone,
)
from broadcaster.roles import APPROVE_ROLES
from broadcaster.scope import Scope
from broadcaster.wire.commands import Command
from broadcaster.wire.plan import Media as WireMedia
from schedules.emergency_delivery import delivery_state, record_deliveries
from schedules.planner import media_url
from schedules.rendering import store_rendered
from schedules.workflow import NotAllowed, WorkflowError

logger = logging.getLogger(__name__)

MAX_REASON = 500
# What a site's events say, from least to most advanced; the page shows the furthest.
STAGES = ("waiting", "delivered", "playing", "finished", "failed", "stopped")
# How an agent words an item cut or dropped by a stop command (docs/protocol.md, events).
STOPPED_BY_COMMAND = "stopped by command"
SILENT = "silent"  # still "waiting", past the time to confirm: shown in red, re-sent, alerted
EVENT_STAGE = {
    "received": "delivered",
    "started": "playing",
    "finished": "finished",
    "failed": "failed",
    "expired": "failed",
    "rejected": "failed",
    "skipped": "failed",
    "interrupted": "failed",
}


@dataclass(frozen=True)
class Draft:
    """What the approver composed (step 1), checked but not yet sent."""

    zone_ids: tuple[str, ...]
    reason: str
    title: str
    text: str = ""
    source_id: int | None = None  # an approved announcement whose audio is played


def check_draft(session: Session, sender: User, draft: Draft, *, max_chars: int = 5000) -> None:
    """Raise NotAllowed/WorkflowError (with stable codes) unless ``draft`` can be sent."""
    if sender.role not in APPROVE_ROLES:
        raise NotAllowed(
            f"user {sender.username!r} ({sender.role}) cannot send emergencies", "cannot-approve"
        )
    if not draft.reason.strip():
        raise WorkflowError("a reason is required for an emergency broadcast", "reason-required")
    if not draft.zone_ids:
        raise WorkflowError("pick at least one zone", "no-zone")
    scope = Scope.of(session, sender)
    known = {z.id for z in scope.zones_in(session, draft.zone_ids)}
    missing = sorted(set(draft.zone_ids) - known)
    if missing:
        raise WorkflowError(
            f"unknown zones: {', '.join(missing)}", "unknown-zones", zones=", ".join(missing)
        )
    if draft.source_id is not None:
        source_announcement(session, draft.source_id, scope)
        return
    if not draft.title.strip():
        raise WorkflowError("title is empty", "title-empty")
    if not draft.text.strip():
        raise WorkflowError("text is empty", "text-empty")
    if len(draft.text) > max_chars:
        raise WorkflowError(
            f"text is {len(draft.text)} characters long; at most {max_chars}",
            "text-long",
            n=len(draft.text),
            max=max_chars,
        )


def source_announcement(session: Session, ann_id: int, scope: Scope) -> Announcement:
    """An approved announcement with audio in ``scope``, whose recording an emergency may
    replay."""
    ann = scope.get(session, Announcement, ann_id)
    if ann is None or ann.status != "approved" or ann.media is None:
        raise WorkflowError(
            f"announcement {ann_id} is not an approved announcement with audio",
            "no-audio",
            id=ann_id,
        )
    return ann


def render_message(session: Session, text: str, render: Renderer) -> Media:
    """Render the typed message (said three times), store it, and return its media row."""
    rendered = render(
        text.strip(), repeat=DEFAULT_REPEAT["emergency"], lexicon=load_lexicon(session)
    )
    return store_rendered(session, rendered)


def send_emergency(
    session: Session,
    sender: User,
    draft: Draft,
    *,
    media: Media | None = None,
    render: Renderer | None = None,
    now: datetime,
    max_chars: int = 5000,
) -> Emergency:
    """Record the emergency: an approved emergency announcement airing ``now``, and its reason.

    The audio is ``media`` (rendered at the preview step), else the source announcement's, else
    the text rendered with ``render``. The caller commits, then calls :func:`publish_emergency`.
    """
    check_draft(session, sender, draft, max_chars=max_chars)
    scope = Scope.of(session, sender)
    zones = scope.zones_in(session, draft.zone_ids)
    if draft.source_id is not None:
        source = source_announcement(session, draft.source_id, scope)
        title, body, media = source.title, source.body, source.media
    else:
        title, body = draft.title.strip()[:200], draft.text.strip()
        if media is None:
            if render is None:
                raise WorkflowError("no audio and no renderer for the emergency", "no-audio")
            media = render_message(session, body, render)
    assert media is not None
    ann = Announcement(
        title=title,
        body=body,
        category="thien-tai" if draft.source_id is None else "",
        priority="emergency",
        status="approved",
        author_id=sender.id,
        unit_id=sender.unit_id,
        approver_id=sender.id,  # the approver's own decision, recorded with a reason
        submitted_at=now,
        decided_at=now,
        media_sha256=media.sha256,
        tts_engine="" if draft.source_id is not None else "emergency",
        zones=zones,
        repeat=DEFAULT_REPEAT["emergency"],
    )
    ann.schedule.append(ScheduleItem(start_at=now.replace(microsecond=0)))
    session.add(ann)
    session.flush()
    emergency = Emergency(
        announcement_id=ann.id,
        reason=draft.reason.strip()[:MAX_REASON],
        sent_by_id=sender.id,
        sent_at=now,
        delivery="command",
    )
    session.add(emergency)
    session.flush()
    logger.warning(
        "emergency %d recorded by %s for zones %s: %s",
        emergency.id,
        sender.username,
        ",".join(sorted(draft.zone_ids)),
        emergency.reason,
    )
    return emergency


def occurrence_id(emergency: Emergency) -> str:
    """The airing's occurrence id: the plan item id and the command's item id."""
    item = emergency.announcement.schedule[0]
    return item.occurrence_id(item.start_at)


def publish_emergency(
    session: Session, emergency: Emergency, commands: CommandPublisher, public_url: str
) -> str:
    """Send the play-now command to every zone; stores and returns the command id."""
    ann = emergency.announcement
    media = ann.media
    assert media is not None
    item = play_now_item(
        announcement_id=ann.id,
        title=ann.title,
        media=WireMedia(
            sha256=media.sha256,
            url=media_url(public_url, media.sha256, media.ext),
            size=media.size,
            duration_ms=media.duration_ms,
        ),
        priority="emergency",
        occurrence_id=occurrence_id(emergency),
        start=ann.schedule[0].start_at,
    )
    command = commands.play_now(
        zones=sorted(z.id for z in ann.zones), item=item, reason=emergency.reason
    )
    emergency.command_id = command.id
    emergency.command_body = json.dumps(command.to_dict(), ensure_ascii=False)
    record_deliveries(
        session, emergency, [s.id for z in ann.zones for s in z.sites], command.issued_at
    )
    session.flush()
    return command.id


@dataclass(frozen=True)
class SiteProgress:
    """How far one site got with the emergency."""

    site_id: str
    name: str
    stage: str  # one of STAGES, or SILENT
    detail: str
    at: datetime | None
    online: bool
    sends: int = 0  # how many times the command went to this site (0: not tracked)


def site_progress(session: Session, emergency: Emergency) -> list[SiteProgress]:
    """Each target site's furthest stage, from the events it reported for the airing."""
    item_id = occurrence_id(emergency)
    sites = sorted(
        {s.id: s for z in emergency.announcement.zones for s in z.sites}.values(),
        key=lambda s: s.name,
    )
    best: dict[str, tuple[int, str, datetime | None]] = {}
    events = session.scalars(
        select(PlaybackEvent)
        .where(PlaybackEvent.item_id == item_id)
        .order_by(PlaybackEvent.at, PlaybackEvent.seq)
    )
    for e in events:
        stage = EVENT_STAGE.get(e.kind)
        if stage is None:
            continue
        if e.kind in ("interrupted", "skipped") and e.detail.startswith(STOPPED_BY_COMMAND):
            stage = "stopped"
        rank = STAGES.index(stage)
        if rank >= best.get(e.site_id, (-1, "", None))[0]:
            best[e.site_id] = (rank, e.detail if stage == "failed" else "", e.at)
    deliveries = {
        d.site_id: d
        for d in session.scalars(
            select(EmergencyDelivery).where(EmergencyDelivery.emergency_id == emergency.id)
        )
    }
    out = []
    for site in sites:
        rank, detail, at = best.get(site.id, (0, "", None))
        stage = STAGES[rank]
        delivery = deliveries.get(site.id)
        if stage == "waiting" and delivery_state(delivery) == "silent":
            stage = SILENT
        sends = delivery.sends if delivery is not None else 0
        out.append(SiteProgress(site.id, site.name, stage, detail, at, _online(site), sends))
    return out


def _online(site: Site) -> bool:
    return site.state == "online"


def done(progress: list[SiteProgress]) -> bool:
    """True when every site finished, failed or was stopped."""
    return all(p.stage in ("finished", "failed", "stopped") for p in progress)


def offline_sites(session: Session, zone_ids: list[str] | tuple[str, ...]) -> list[Site]:
    """The target sites of these zones not online now (they get the command if they come back
    before it expires): what the confirm step warns about."""
    sites = {
        s.id: s for s in session.scalars(select(Site).join(Site.zones).where(Zone.id.in_(zone_ids)))
    }
    return sorted((s for s in sites.values() if not _online(s)), key=lambda s: s.name)


def stop_emergency(
    session: Session,
    emergency: Emergency,
    user: User,
    reason: str,
    commands: CommandPublisher,
    *,
    now: datetime,
) -> Command:
    """Stop a running emergency: one signed ``stop`` command for its airing to its zones (an
    agent cuts it if it plays, drops it if queued); its airing leaves the plans (the
    announcement is withdrawn) and silent sites are no longer sent it again. Recorded (who,
    when, why) when the command is out; the caller commits."""
    if user.role not in APPROVE_ROLES:
        raise NotAllowed(
            f"user {user.username!r} ({user.role}) cannot stop emergencies", "cannot-approve"
        )
    if Scope.of(session, user).get(session, Emergency, emergency.id) is None:
        raise NotAllowed(
            f"emergency {emergency.id} is outside {user.username!r}'s units", "out-of-scope"
        )
    if emergency.stopped_at is not None:
        raise WorkflowError(f"emergency {emergency.id} was stopped already", "emergency-stopped")
    reason = reason.strip()
    if not reason:
        raise WorkflowError("a reason is required to stop", "cancel-reason-required")
    ann = emergency.announcement
    command = commands.stop(
        zones=sorted(z.id for z in ann.zones),
        item_id=occurrence_id(emergency),
        reason=reason[:MAX_REASON],
    )
    emergency.stopped_at = now
    emergency.stopped_by_id = user.id
    emergency.stop_reason = reason[:MAX_REASON]
    emergency.stop_command_id = command.id
    ann.status = "cancelled"  # out of the plans: no site starts it from there afterwards
    session.flush()
    logger.warning(
        "emergency %d stopped by %s (command %s): %s",
        emergency.id,
        user.username,
        command.id,
        emergency.stop_reason,
    )
    return command
