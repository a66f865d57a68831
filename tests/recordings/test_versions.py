"""Recorded versions: validated and mastered before anything is stored, and each site gets
the version in its zones' language (else the Vietnamese text-to-speech)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audio.recordings import RecordingError
from audio.renderer import TextRenderer
from audio.store import MediaStore
from broadcaster.config import Settings
from broadcaster.models import Announcement, AnnouncementVersion, Media, Site, User, Zone
from schedules import versions, workflow
from schedules.planner import materialize
from tests.recordings.conftest import make_audio
from tests.support.clock import FIXED_NOW

# A 1×1 PNG: what a user uploads after renaming a picture to .mp3.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _draft(session: Session, author: User, zones: list[str]) -> Announcement:
    return workflow.create_announcement(
        session,
        author,
        title="Tiêm phòng",
        body="Sáng mai bà con mang gia súc đi tiêm phòng.",
        zone_ids=zones,
        start_at=FIXED_NOW + timedelta(hours=1),
        repeat=1,
        now=FIXED_NOW,
    )


def _add(session, ann, user, data, settings, language="bahnar"):  # noqa: ANN001, ANN202
    return versions.add_recording(
        session,
        ann,
        user,
        data,
        language=language,
        settings=settings,
        store=MediaStore(settings.media_dir),
    )


def _stored_files(settings: Settings) -> list[Path]:
    return list(Path(settings.media_dir).glob("*/*.*"))


def test_a_recording_is_mastered_and_stored(session, users, settings, tmp_path) -> None:
    ann = _draft(session, users["editor"], ["thon-5"])
    voice = make_audio(tmp_path / "banar.ogg", "sine=frequency=220:duration=3", "-c:a", "libopus")
    version = _add(session, ann, users["editor"], voice, settings)
    assert (version.language, version.kind, version.source) == ("bahnar", "recording", "upload")
    # Chimes around 3 s of voice.
    assert 3000 < version.media.duration_ms < 9000
    assert MediaStore(settings.media_dir).path(version.media_sha256, "mp3").exists()

    again = make_audio(tmp_path / "b2.wav", "sine=frequency=300:duration=2")
    replaced = _add(session, ann, users["editor"], again, settings)
    assert replaced.id == version.id and len(ann.versions) == 1


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda p: PNG, "not_audio"),
        (lambda p: make_audio(p / "long.mp3", "sine=duration=25", "-b:a", "32k"), "too_long"),
        (lambda p: make_audio(p / "quiet.wav", "anullsrc=r=44100:cl=mono:d=2"), "silent"),
        (
            lambda p: make_audio(p / "cut.ogg", "sine=duration=3", "-c:a", "libopus")[:300],
            "corrupt",
        ),
        (lambda p: b"", "empty"),
    ],
)
def test_a_bad_recording_stores_nothing(session, users, settings, tmp_path, make, code) -> None:
    ann = _draft(session, users["editor"], ["thon-5"])
    data = make(tmp_path)
    with pytest.raises(RecordingError) as err:
        _add(session, ann, users["editor"], data, settings)
    assert err.value.code == code
    assert ann.versions == []
    assert session.scalar(select(func.count()).select_from(AnnouncementVersion)) == 0
    assert session.scalar(select(func.count()).select_from(Media)) == 0
    assert _stored_files(settings) == []


def test_versions_change_only_in_drafts_by_their_author(
    session, users, settings, tmp_path, fake_renderer: TextRenderer
) -> None:
    ann = _draft(session, users["editor"], ["thon-5"])
    voice = make_audio(tmp_path / "v.wav")
    with pytest.raises(workflow.NotAllowed):
        _add(session, ann, users["approver"], voice, settings)
    with pytest.raises(workflow.WorkflowError, match="unknown language"):
        _add(session, ann, users["editor"], voice, settings, language="klingon")
    version = _add(session, ann, users["editor"], voice, settings)
    workflow.submit(session, ann, users["editor"], fake_renderer)
    with pytest.raises(workflow.WorkflowError) as err:
        versions.remove_recording(session, version, users["editor"])
    assert err.value.code == "not-editable"
    workflow.reject(session, ann, users["approver"], "thu lại")
    versions.remove_recording(session, version, users["editor"])
    assert ann.versions == []


def test_each_site_gets_the_version_in_its_language(
    session, users, settings, tmp_path, fake_renderer: TextRenderer
) -> None:
    # A loudspeaker cluster of its own for the Ba Na hamlet (the FM station serves all zones).
    session.add(Site(id="cum-loa-t5", name="Cụm loa Kon Klo", zones=[session.get(Zone, "thon-5")]))
    ann = _draft(session, users["editor"], ["thon-1", "thon-5"])
    voice = make_audio(tmp_path / "banar.wav", "sine=frequency=200:duration=6")
    recording = _add(session, ann, users["editor"], voice, settings)
    workflow.submit(session, ann, users["editor"], fake_renderer)
    workflow.approve(session, ann, users["approver"], now=FIXED_NOW)
    plans = materialize(session, FIXED_NOW, timedelta(hours=3), "http://x")

    def media_of(site: str) -> str:
        (item,) = plans[site]
        return item.media.sha256

    assert media_of("cum-loa-t5") == recording.media_sha256
    assert media_of("cum-loa-t1") == ann.media_sha256
    assert media_of("dai-xa") == ann.media_sha256  # zones of several languages: Vietnamese
    assert plans["cum-loa-t2"] == []
    (t5,) = plans["cum-loa-t5"]
    assert t5.media.duration_ms == recording.media.duration_ms
    assert {p[0].id for p in (plans["cum-loa-t1"], plans["cum-loa-t5"])} == {t5.id}
