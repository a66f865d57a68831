"""Recorded versions of an announcement in the villages' languages: add, replace, remove.

A recording is validated and mastered (audio.recordings) before anything is stored; a bad one
raises RecordingError with a stable code and nothing is written. Versions change only while
the announcement is a draft or rejected, so an approver always hears every version that will
air before approving it.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from audio.loudness import LoudnessTarget
from audio.recordings import master_recording
from audio.store import MediaStore
from broadcaster.config import Settings
from broadcaster.models import RECORDING_LANGUAGES, Announcement, AnnouncementVersion, User
from broadcaster.roles import EDIT_ROLES
from schedules.rendering import store_rendered
from schedules.workflow import NotAllowed, WorkflowError

logger = logging.getLogger(__name__)

EDITABLE_STATES = ("draft", "rejected")
SOURCES = ("upload", "browser")


def check_can_edit(ann: Announcement, user: User) -> None:
    """NotAllowed or WorkflowError unless ``user`` may change this announcement's versions."""
    if user.role not in EDIT_ROLES or (user.id != ann.author_id and user.role != "admin"):
        raise NotAllowed(
            f"user {user.username!r} cannot change the recordings of announcement {ann.id}",
            "not-author",
        )
    if ann.status not in EDITABLE_STATES:
        raise WorkflowError(
            f"announcement {ann.id} is {ann.status}; recordings change only in drafts",
            "not-editable",
            status=ann.status,
        )


def add_recording(
    session: Session,
    ann: Announcement,
    user: User,
    data: bytes,
    *,
    language: str,
    settings: Settings,
    store: MediaStore,
    source: str = "upload",
    original_name: str = "",
) -> AnnouncementVersion:
    """Validate, master and store a recording as the announcement's version in ``language``
    (replacing an earlier one in that language)."""
    check_can_edit(ann, user)
    if language not in RECORDING_LANGUAGES:
        raise WorkflowError(f"unknown language {language!r}", "unknown-language", language=language)
    if source not in SOURCES:
        raise WorkflowError(f"unknown recording source {source!r}", "unknown-source")
    rendered = master_recording(
        data,
        store=store,
        max_bytes=settings.recording_max_bytes,
        max_seconds=settings.recording_max_seconds,
        repeat=ann.repeat,
        target=LoudnessTarget(
            integrated=settings.loudness_target_lufs, true_peak=settings.true_peak_db
        ),
        fmt=settings.audio_format,
        bitrate=settings.audio_bitrate,
    )
    store_rendered(session, rendered)
    version = next((v for v in ann.versions if v.language == language), None)
    if version is None:
        version = AnnouncementVersion(language=language, kind="recording")
        ann.versions.append(version)
    version.media_sha256 = rendered.sha256
    version.source = source
    version.original_name = original_name[:256]
    version.created_by_id = user.id
    session.flush()
    logger.info(
        "announcement %d: %s recording %s (%d ms) by %s",
        ann.id,
        language,
        rendered.sha256[:12],
        rendered.duration_ms,
        user.username,
    )
    return version


def remove_recording(session: Session, version: AnnouncementVersion, user: User) -> None:
    """Delete one recorded version (its media stays in the store: it is content-addressed)."""
    ann = version.announcement
    check_can_edit(ann, user)
    ann.versions.remove(version)
    session.flush()
    logger.info(
        "announcement %d: %s recording removed by %s", ann.id, version.language, user.username
    )
