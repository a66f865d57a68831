"""Live sessions (issue 14): an approver speaks, the chosen zones' speakers play it at once.

:func:`start_live` records the session: an approved announcement (``tts_engine`` "live", the
approver as author and approver, the chosen zones, one airing at the start) so the playback
log and the proof of broadcast see it like any airing, and a :class:`LiveSession` row (who
spoke, the unguessable mount). :func:`publish_live` sends the signed ``live`` command once the
stream is on the streaming server; :func:`end_live` sends ``stop`` and records why it ended;
:func:`archive_live` puts the recording into the media store as the announcement's audio.

The session's token (the agents' password on the streaming server) is never stored: it is
made at the start, written to the streaming server's password file and put in the command.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.live_archive import archive_recording
from audio.store import MediaStore
from broadcaster.commands import CommandPublisher
from broadcaster.models import Announcement, LiveSession, PlaybackEvent, ScheduleItem, User
from broadcaster.scope import Scope
from broadcaster.wire.commands import Command
from broadcaster.wire.live import LIVE_PRIORITIES, LiveStream
from schedules.rendering import store_rendered
from schedules.workflow import NotAllowed, WorkflowError

logger = logging.getLogger(__name__)

LIVE_ROLES = ("approver",)
TTS_ENGINE = "live"


@dataclass(frozen=True)
class LiveOptions:
    """Where the stream lives and how agents treat it."""

    public_url: str  # the streaming server as agents reach it, e.g. http://server:8000
    stall_s: int = 5
    max_s: int = 3600


def new_token() -> str:
    return secrets.token_urlsafe(24)


def start_live(
    session: Session, speaker: User, zone_ids: list[str], priority: str, *, now: datetime
) -> LiveSession:
    """Record a live session by ``speaker`` to ``zone_ids`` (within their scope). The caller
    commits, allows the token on the streaming server and feeds the stream."""
    if speaker.role not in LIVE_ROLES:
        raise NotAllowed(
            f"user {speaker.username!r} ({speaker.role}) cannot speak live", "cannot-go-live"
        )
    if priority not in LIVE_PRIORITIES:
        raise WorkflowError(f"unknown priority {priority!r}", "unknown-priority")
    if not zone_ids:
        raise WorkflowError("pick at least one zone", "no-zone")
    scope = Scope.of(session, speaker)
    zones = scope.zones_in(session, zone_ids)
    missing = sorted(set(zone_ids) - {z.id for z in zones})
    if missing:
        raise WorkflowError(
            f"unknown zones: {', '.join(missing)}", "unknown-zones", zones=", ".join(missing)
        )
    start = now.replace(microsecond=0)
    ann = Announcement(
        title=f"Phát trực tiếp: {speaker.display_name}"[:200],
        body="",
        priority=priority,
        status="approved",
        author_id=speaker.id,
        unit_id=speaker.unit_id,
        approver_id=speaker.id,
        submitted_at=now,
        decided_at=now,
        tts_engine=TTS_ENGINE,
        zones=zones,
        repeat=1,
    )
    # valid_until = the start: the planner never puts the airing in a plan (no second airing
    # from the recording), the command alone carries it
    ann.schedule.append(ScheduleItem(start_at=start, valid_until=start))
    session.add(ann)
    session.flush()
    live = LiveSession(
        name=f"live-{secrets.token_hex(12)}",
        announcement_id=ann.id,
        speaker_id=speaker.id,
        priority=priority,
        mount=f"/live/{secrets.token_urlsafe(18)}.ogg",
        started_at=now,
        end_reason="",
        command_id="",
    )
    session.add(live)
    session.flush()
    logger.warning(
        "live session %s (%d) started by %s for zones %s (%s)",
        live.name,
        live.id,
        speaker.username,
        ",".join(sorted(z.id for z in zones)),
        priority,
    )
    return live


def item_id(live: LiveSession) -> str:
    """The airing's occurrence id: the live item's id at the agents and in their events."""
    item = live.announcement.schedule[0]
    return item.occurrence_id(item.start_at)


def stream_for(live: LiveSession, token: str, options: LiveOptions) -> LiveStream:
    ann = live.announcement
    return LiveStream(
        session=live.name,
        url=f"{options.public_url.rstrip('/')}{live.mount}",
        token=token,
        item_id=item_id(live),
        announcement_id=ann.id,
        title=ann.title,
        priority=live.priority,
        start=ann.schedule[0].start_at,
        stall_s=options.stall_s,
        max_s=options.max_s,
    ).validate()


def zone_ids(live: LiveSession) -> list[str]:
    return sorted(z.id for z in live.announcement.zones)


def publish_live(
    session: Session,
    live: LiveSession,
    token: str,
    commands: CommandPublisher,
    options: LiveOptions,
) -> Command:
    """Send the signed ``live`` command to every zone of the session."""
    command = commands.live(
        zones=zone_ids(live),
        live=stream_for(live, token, options),
        reason=f"live: {live.speaker.display_name}",
    )
    live.command_id = command.id
    session.flush()
    return command


def end_live(
    session: Session,
    live: LiveSession,
    reason: str,
    *,
    now: datetime,
    commands: CommandPublisher | None,
) -> bool:
    """Stop the session at every site (a ``stop`` naming its item) and record why; False
    when it had already ended."""
    if live.ended_at is not None:
        return False
    if commands is not None and live.command_id:
        commands.stop(zones=zone_ids(live), item_id=item_id(live), reason=reason)
    live.ended_at = now
    live.end_reason = reason[:500]
    session.flush()
    logger.warning("live session %s ended: %s", live.name, reason)
    return True


def archive_live(
    session: Session,
    live: LiveSession,
    recording: Path,
    *,
    store: MediaStore,
    fmt: str = "mp3",
    bitrate: str = "64k",
) -> None:
    """The recording becomes the announcement's audio (officers listen to it beside the log)."""
    rendered = archive_recording(recording, store=store, fmt=fmt, bitrate=bitrate)
    media = store_rendered(session, rendered)
    live.announcement.media_sha256 = media.sha256
    session.flush()


@dataclass(frozen=True)
class SiteState:
    site_id: str
    name: str
    live: bool  # its latest event of the airing says it is playing
    detail: str


def site_states(session: Session, live: LiveSession) -> list[SiteState]:
    """Each target site: playing the session now, or not (with its latest word on it)."""
    sites = sorted(
        {s.id: s for z in live.announcement.zones for s in z.sites}.values(), key=lambda s: s.name
    )
    latest: dict[str, PlaybackEvent] = {}
    for event in session.scalars(
        select(PlaybackEvent)
        .where(PlaybackEvent.item_id == item_id(live))
        .order_by(PlaybackEvent.at, PlaybackEvent.seq)
    ):
        latest[event.site_id] = event
    out = []
    for site in sites:
        last = latest.get(site.id)
        playing = last is not None and last.kind == "started" and live.ended_at is None
        out.append(SiteState(site.id, site.name, playing, last.detail if last else ""))
    return out
