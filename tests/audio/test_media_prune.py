"""Retention on SQLite and PostgreSQL with an injected clock: the media clean-up (previews,
audio nothing references, every kind of reference kept) and the refused messages by age; the
CLI commands, once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.cache import RenderCache
from audio.media_prune import (
    MARKS_FILE,
    PREVIEW,
    ROW_ONLY,
    TEMPORARY,
    UNUSED,
    MediaPruneReport,
    prune_media,
    referencing_columns,
)
from audio.render import render_text
from audio.store import PRUNING_SUFFIX, MediaStore
from audio.tts.fake import FakeEngine
from broadcaster.cli import _Ctx, main
from broadcaster.clock import FakeClock
from broadcaster.config import ConfigError, Settings
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.models import (
    Announcement,
    AnnouncementVersion,
    Bulletin,
    Emergency,
    Media,
    RejectedMessage,
    Relay,
    Site,
    SitePlan,
    User,
)
from broadcaster.retention import prune_rejected
from tests.support.clock import FIXED_NOW

REPO = Path(__file__).resolve().parents[2]
NOW = FIXED_NOW
GRACE = timedelta(hours=168)
LONG_AGO = NOW - timedelta(days=100)


@dataclass
class World:
    url: str
    factory: sessionmaker[Session]
    store: MediaStore
    clock: FakeClock

    def prune(self, *, dry_run: bool = False) -> MediaPruneReport:
        return prune_media(self.factory, self.store, self.clock.now(), GRACE, dry_run=dry_run)

    def put(self, data: bytes, used_at: datetime, ext: str = "mp3") -> str:
        """A file in the store, last used at ``used_at``."""
        sha = self.store.put(data, ext)
        self.use(sha, used_at, ext)
        return sha

    def use(self, sha: str, when: datetime, ext: str = "mp3") -> None:
        os.utime(self.store.path(sha, ext), (when.timestamp(), when.timestamp()))

    def media(self, session: Session, data: bytes, used_at: datetime = LONG_AGO) -> Media:
        """A stored file and its Media row."""
        sha = self.put(data, used_at)
        row = Media(sha256=sha, ext="mp3", size=len(data), duration_ms=1000, created_at=used_at)
        session.add(row)
        return row

    def has(self, sha: str) -> bool:
        with self.factory() as s:
            return s.get(Media, sha) is not None


@pytest.fixture
def world(any_db_url: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(any_db_url)
    yield World(any_db_url, session_factory(engine), MediaStore(tmp_path / "media"), FakeClock(NOW))
    engine.dispose()


def _editor(session: Session) -> User:
    user = User(username="bientap", display_name="Biên tập", password_hash="-", role="editor")
    session.add(user)
    session.flush()
    return user


def _removed(report: MediaPruneReport) -> list[tuple[str, str]]:
    return sorted((r.name, r.kind) for r in report.removed)


# --- previews: files without a row ------------------------------------------------------------


def test_a_preview_unused_past_the_grace_goes_and_a_fresh_one_stays(world: World) -> None:
    old = world.put(b"a preview nobody saved", NOW - GRACE - timedelta(minutes=1))
    fresh = world.put(b"a preview being listened to", NOW - timedelta(minutes=5))
    dry = world.prune(dry_run=True)
    assert _removed(dry) == [(f"{old}.mp3", PREVIEW)]
    assert dry.bytes_freed == len(b"a preview nobody saved")
    assert world.store.exists(old, "mp3") and world.store.exists(fresh, "mp3")  # dry: nothing

    done = world.prune()
    assert _removed(done) == [(f"{old}.mp3", PREVIEW)]
    assert done.bytes_freed == len(b"a preview nobody saved") and done.rows_deleted == 0
    assert not world.store.exists(old, "mp3")
    assert world.store.exists(fresh, "mp3")
    assert world.prune().removed == []


def test_a_preview_rendered_again_counts_from_its_last_use(world: World) -> None:
    sha = world.put(b"said again", NOW - timedelta(days=30))
    world.use(sha, NOW - timedelta(hours=2))  # what put and a mastered-cache hit do
    assert world.prune().removed == []
    world.clock.advance(GRACE)
    assert _removed(world.prune()) == [(f"{sha}.mp3", PREVIEW)]


def test_unfinished_writes_go_and_a_file_a_crashed_pass_set_aside_comes_back(
    world: World,
) -> None:
    folder = world.store.root / "ab"
    folder.mkdir(parents=True)
    stale, writing = folder / ".x.mp3.k2j3.part", folder / ".y.mp3.q9w8.part"
    stale.write_bytes(b"half")
    writing.write_bytes(b"half, still writing")
    os.utime(stale, (LONG_AGO.timestamp(),) * 2)
    os.utime(writing, (NOW.timestamp(),) * 2)
    with world.factory() as s, s.begin():
        kept = world.media(s, b"an approved one's audio")
        s.add(Announcement(title="t", body="b", author_id=_editor(s).id, media=kept))
    path = world.store.path(kept.sha256, "mp3")
    aside = path.with_name(f".{path.name}{PRUNING_SUFFIX}")
    path.rename(aside)  # a pass stopped between its rename and its check

    report = world.prune()
    assert _removed(report) == [(stale.name, TEMPORARY)]
    assert not stale.exists() and writing.exists()
    assert path.is_file() and not aside.exists()  # put back; referenced, so it stays
    assert report.missing == []


# --- what is referenced stays -----------------------------------------------------------------


def test_media_something_references_stays_however_old(world: World) -> None:
    assert {f"{c.table.name}.{c.name}" for c in referencing_columns()} == {
        "announcements.media_sha256",
        "announcement_versions.media_sha256",
        "bulletins.media_sha256",
        "relays.fallback_sha256",
    }, "a new reference to media: add its kind to this test"
    with world.factory() as s, s.begin():
        editor = _editor(s)
        media = {
            kind: world.media(s, kind.encode())
            for kind in (
                "draft",
                "rejected",
                "approved",
                "emergency",
                "live archive",
                "recording",
                "bulletin",
                "relay fallback",
            )
        }

        def ann(kind: str, **kw: object) -> Announcement:
            row = Announcement(title=kind, body=kind, author_id=editor.id, media=media[kind], **kw)
            s.add(row)
            return row

        ann("draft")
        ann("rejected", status="rejected")
        approved = ann("approved", status="approved")
        sent = ann("emergency", status="approved", priority="emergency")
        ann("live archive", status="approved", tts_engine="live")
        s.flush()
        s.add(Emergency(announcement_id=sent.id, reason="lũ", sent_by_id=editor.id, sent_at=NOW))
        s.add(AnnouncementVersion(announcement=approved, language="ede", media=media["recording"]))
        s.add(
            Bulletin(
                title="b",
                body="b",
                unit_id=editor.unit_id,
                author_id=editor.id,
                created_at=LONG_AGO,
                media=media["bulletin"],
            )
        )
        s.add(
            Relay(
                name="VOV1",
                stream_url="http://vov.example/1",
                start=time(6),
                duration_s=1800,
                fallback=media["relay fallback"],
            )
        )
    for _ in range(3):
        report = world.prune()
        assert report.removed == [] and report.held == 0 and report.missing == []
        world.clock.advance(GRACE * 5)
    for row in media.values():
        assert world.has(row.sha256) and world.store.exists(row.sha256, "mp3")


def test_referenced_media_missing_from_the_store_is_reported(world: World) -> None:
    with world.factory() as s, s.begin():
        row = world.media(s, b"lost")
        s.add(Announcement(title="t", body="b", author_id=_editor(s).id, media=row))
    world.store.path(row.sha256, "mp3").unlink()
    assert world.prune().missing == [f"{row.sha256}.mp3"]
    assert world.has(row.sha256)


# --- rows nothing references: after a pass saw them so for the grace --------------------------


def test_audio_an_edit_replaced_goes_after_the_grace_and_every_plan_sent_since(
    world: World,
) -> None:
    with world.factory() as s, s.begin():
        s.add(Site(id="cum-loa-1", name="Cụm loa 1", unit_id=_editor(s).unit_id))
        s.add(SitePlan(site_id="cum-loa-1", version=1, digest="d", published_at=NOW))
        ann = Announcement(
            title="t",
            body="b",
            status="approved",
            author_id=s.scalar(select(User.id)),
            media=world.media(s, b"before the edit"),
        )
        s.add(ann)
    old = ann.media_sha256
    assert old is not None
    world.clock.advance(timedelta(minutes=1))
    with world.factory() as s, s.begin():
        s.get(Announcement, ann.id).media = world.media(s, b"after the edit")  # type: ignore[union-attr]

    first = world.prune()  # the first pass to see it unreferenced: its grace starts now
    assert first.removed == [] and first.held == 1
    assert first.held_until == world.clock.now() + GRACE
    marks = json.loads((world.store.root / MARKS_FILE).read_text())
    assert list(marks) == [old]
    world.clock.advance(GRACE - timedelta(minutes=1))
    assert world.prune().held == 1
    world.clock.advance(timedelta(minutes=2))
    held = world.prune()  # the site's retained plan was sent before the mark: it may name it
    assert held.removed == [] and held.held == 1
    with world.factory() as s, s.begin():
        s.get(SitePlan, "cum-loa-1").published_at = world.clock.now()  # type: ignore[union-attr]

    dry = world.prune(dry_run=True)
    assert _removed(dry) == [(f"{old}.mp3", UNUSED)] and dry.rows_deleted == 1
    assert world.has(old) and world.store.exists(old, "mp3")
    done = world.prune()
    assert _removed(done) == [(f"{old}.mp3", UNUSED)] and done.rows_deleted == 1
    assert done.bytes_freed == len(b"before the edit")
    assert not world.has(old) and not world.store.exists(old, "mp3")
    new = world.prune()
    assert new.removed == [] and new.held == 0
    assert json.loads((world.store.root / MARKS_FILE).read_text()) == {}
    with world.factory() as s:
        kept = s.get(Announcement, ann.id)
        assert kept is not None and kept.media_sha256 is not None
        assert world.store.exists(kept.media_sha256, "mp3")


def test_an_unreferenced_row_rendered_again_or_referenced_again_stays(world: World) -> None:
    with world.factory() as s, s.begin():
        again = world.media(s, b"an emergency previewed, not sent")
        back = world.media(s, b"an edit undone")
        gone = world.media(s, b"a deleted relay's fallback")
    with world.factory() as s, s.begin():
        s.add(Media(sha256="f" * 64, ext="mp3", size=1, duration_ms=1))  # a row without a file
    assert world.prune().held == 4  # marked now
    world.clock.advance(GRACE + timedelta(minutes=1))
    world.use(again.sha256, world.clock.now() - timedelta(minutes=3))  # rendered again
    with world.factory() as s, s.begin():
        s.add(Announcement(title="t", body="b", author_id=_editor(s).id, media_sha256=back.sha256))
    report = world.prune()
    assert _removed(report) == sorted(
        [(f"{gone.sha256}.mp3", UNUSED), (f"{'f' * 64}.mp3", ROW_ONLY)]
    )
    assert report.rows_deleted == 2 and report.held == 1
    assert world.has(again.sha256) and world.store.exists(again.sha256, "mp3")
    assert world.has(back.sha256) and world.store.exists(back.sha256, "mp3")
    # Referenced again, then unreferenced: its grace starts over.
    with world.factory() as s, s.begin():
        s.get(Announcement, s.scalar(select(Announcement.id))).media_sha256 = None  # type: ignore[union-attr]
    assert world.prune().held == 2
    assert world.has(back.sha256)


# --- refused messages ------------------------------------------------------------------------


def _refused(world: World, ages: dict[str, timedelta]) -> None:
    with world.factory() as s, s.begin():
        for key, age in ages.items():  # "reason:detail"
            reason, detail = key.split(":")
            s.add(
                RejectedMessage(
                    site_id="cum-loa-1",
                    kind="event",
                    reason=reason,
                    detail=detail,
                    received_at=world.clock.now() - age,
                )
            )


def _refused_left(world: World) -> list[str]:
    with world.factory() as s:
        return sorted(s.scalars(select(RejectedMessage.detail)))


def test_refused_messages_older_than_the_limit_go_and_younger_stay(world: World) -> None:
    keep = timedelta(days=90)
    _refused(
        world,
        {
            "bad-signature:0": timedelta(days=200),
            "bad-signature:1": timedelta(days=91),
            "malformed:2": keep + timedelta(seconds=1),
            "malformed:3": keep - timedelta(seconds=1),
            "replayed:4": timedelta(days=1),
        },
    )
    dry = prune_rejected(world.factory, world.clock.now(), keep, dry_run=True)
    assert dry.by_reason == {"bad-signature": 2, "malformed": 1} and dry.deleted == 3
    assert _refused_left(world) == ["0", "1", "2", "3", "4"]
    done = prune_rejected(world.factory, world.clock.now(), keep, chunk=2)  # two chunks
    assert done.deleted == 3 and done.cutoff == NOW - keep
    assert _refused_left(world) == ["3", "4"]
    assert prune_rejected(world.factory, world.clock.now(), keep).deleted == 0


# --- the commands ------------------------------------------------------------------------------


def _run(world: World, *args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(
        main,
        list(args),
        env={
            "BROADCASTER_DATABASE_URL": world.url,
            "BROADCASTER_MEDIA_DIR": str(world.store.root),
        },
        obj=_Ctx(None, world.clock),
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_commands_print_what_goes_and_a_dry_run_removes_nothing(world: World) -> None:
    old = world.put(b"x" * 1_500_000, NOW - GRACE - timedelta(hours=1))
    fresh = world.put(b"fresh", NOW)
    with world.factory() as s, s.begin():
        lost = world.media(s, b"lost")
        s.add(Announcement(title="t", body="b", author_id=_editor(s).id, media=lost))
    world.store.path(lost.sha256, "mp3").unlink()
    _refused(world, {"malformed:old": timedelta(days=120), "replayed:young": timedelta(days=2)})

    code, out, err = _run(world, "media", "prune", "--dry-run")
    assert code == 0, err
    assert f"would remove {old}.mp3  1,500,000 bytes  no database row" in out
    assert "media: 1 file would go, 1,500,000 bytes (1.5 MB) to free (1 preview," in out
    assert "[dry run: nothing removed]" in out
    assert f"1 media in use are not in the store ({world.store.root}): {lost.sha256}.mp3" in err
    assert world.store.exists(old, "mp3")
    code, out, _ = _run(world, "db", "prune", "--dry-run")
    assert code == 0
    assert "refused messages: 1 would be deleted, received before 2029-12-04 01:00 UTC" in out
    assert "(kept 90 days): malformed 1 [dry run: nothing deleted]" in out
    assert _refused_left(world) == ["old", "young"]

    code, out, _ = _run(world, "media", "prune")
    assert code == 0
    assert f"removed {old}.mp3  1,500,000 bytes" in out
    assert "media: 1 file removed, 1,500,000 bytes (1.5 MB) freed (1 preview, 0 no" in out
    assert not world.store.exists(old, "mp3") and world.store.exists(fresh, "mp3")
    code, out, _ = _run(world, "db", "prune", "--keep-days", "1")
    assert code == 0 and "refused messages: 2 deleted" in out and "(kept 1 days)" in out
    assert _refused_left(world) == []


def test_the_commands_as_a_real_process(tmp_path: Path) -> None:
    """`broadcaster media prune` and `db prune` as an operator runs them (the wall clock: a
    file last used in 1970 and a message refused in 2000 go; what is minutes old stays)."""
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    upgrade(url)
    store = MediaStore(tmp_path / "media")
    old, fresh = store.put(b"old preview", "mp3"), store.put(b"new preview", "mp3")
    os.utime(store.path(old, "mp3"), (0, 0))
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        for detail, at in (("old", datetime(2000, 1, 1, tzinfo=UTC)), ("young", datetime.now(UTC))):
            s.add(
                RejectedMessage(
                    site_id="s", kind="event", reason="malformed", detail=detail, received_at=at
                )
            )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "BROADCASTER_DATABASE_URL": url,
        "BROADCASTER_MEDIA_DIR": str(store.root),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "broadcaster.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = run("media", "prune")  # --dry-run: through main above, with the injected clock
    assert f"removed {old}.mp3  11 bytes  no database row (a preview never saved), " in out
    assert "last used 1970-01-01 00:00 UTC" in out
    assert not store.exists(old, "mp3") and store.exists(fresh, "mp3")
    assert "refused messages: 1 deleted" in run("db", "prune")
    with session_factory(engine)() as s:
        assert list(s.scalars(select(RejectedMessage.detail))) == ["young"]
    engine.dispose()


# --- the store's last use, and the settings ---------------------------------------------------


def test_a_render_again_marks_its_file_used(tmp_path: Path) -> None:
    store, cache = MediaStore(tmp_path / "media"), RenderCache(tmp_path / "cache")
    first = render_text("Họp thôn lúc 7 giờ.", engine=FakeEngine(), store=store, cache=cache)
    path = store.path(first.sha256, first.ext)
    os.utime(path, (1000, 1000))
    again = render_text("Họp thôn lúc 7 giờ.", engine=FakeEngine(), store=store, cache=cache)
    assert again == first  # the mastered cache's hit
    assert path.stat().st_mtime > 1000
    os.utime(path, (1000, 1000))
    assert store.remove_unused(first.sha256, first.ext, datetime.fromtimestamp(999, UTC)) is None
    assert path.is_file()  # used after the cutoff: stays
    cutoff = datetime.fromtimestamp(1001, UTC)
    assert store.remove_unused(first.sha256, first.ext, cutoff) == first.size
    assert not path.exists() and not list(path.parent.glob(".*"))
    third = render_text("Họp thôn lúc 7 giờ.", engine=FakeEngine(), store=store, cache=cache)
    assert store.exists(third.sha256, third.ext)  # the cache's note did not fool it


def test_the_retention_settings_come_from_the_environment_and_are_checked() -> None:
    settings = Settings.load(
        env={
            "BROADCASTER_PRUNE_INTERVAL_S": "600",
            "BROADCASTER_MEDIA_PRUNE_GRACE_HOURS": "24",
            "BROADCASTER_REJECTED_MESSAGES_KEEP_DAYS": "30",
        }
    )
    assert (settings.prune_interval_s, settings.media_prune_grace_hours) == (600.0, 24)
    assert settings.rejected_messages_keep_days == 30
    defaults = Settings.load(env={})
    assert (defaults.media_prune_grace_hours, defaults.rejected_messages_keep_days) == (168, 90)
    for key, bad in (
        ("PRUNE_INTERVAL_S", "-1"),
        ("MEDIA_PRUNE_GRACE_HOURS", "0"),
        ("REJECTED_MESSAGES_KEEP_DAYS", "-1"),
    ):
        with pytest.raises(ConfigError, match=key.lower()):
            Settings.load(env={f"BROADCASTER_{key}": bad})
