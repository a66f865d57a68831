"""The media endpoint agents fetch from, and the playback log officers read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from audio.store import MediaStore
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.models import Announcement, Playback, User

BASE = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội: the playbacks' first day


@pytest.fixture
def clock_start() -> datetime:
    """The app's clock, the day after the playbacks below."""
    return BASE + timedelta(days=2)


@pytest.fixture
def stored(settings: Settings, sample_mp3: bytes) -> str:
    return MediaStore(settings.media_dir).put(sample_mp3, "mp3")


def test_media_is_served_immutable_without_login(
    client: FlaskClient, stored: str, sample_mp3: bytes
) -> None:
    with client.get(f"/media/{stored}.mp3") as r:
        assert r.status_code == 200
        assert r.get_data() == sample_mp3
        assert r.mimetype == "audio/mpeg"
        cc = r.cache_control
        assert cc.public and cc.max_age == 31536000 and cc.immutable
        assert r.get_etag() == (stored, False)
    with client.get(f"/media/{stored}.mp3", headers={"If-None-Match": f'"{stored}"'}) as r:
        assert r.status_code == 304


@pytest.mark.parametrize(
    "name",
    [
        "0" * 64 + ".mp3",  # well formed, not stored
        "ABCDEF" + "0" * 58 + ".mp3",  # upper case
        "abc.mp3",
        "{sha}",
        "{sha}.",
        "{sha}.MP3",
        "{sha}.mp3.exe",
        "{sha}.mp3%00.txt",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fdb.sqlite3",
        "../db.sqlite3",
        "../../etc/passwd",
        "..%5C..%5Cdb.sqlite3",
    ],
)
def test_bad_media_names_are_404(client: FlaskClient, stored: str, name: str) -> None:
    with client.get("/media/" + name.format(sha=stored)) as r:
        assert r.status_code == 404


def _playbacks(db: sessionmaker[Session]) -> int:
    with transaction(db) as s:
        author = s.query(User).filter_by(username="bientap").one()
        ann = Announcement(
            title="Lịch tiêm phòng", body="…", status="approved", author_id=author.id
        )
        s.add(ann)
        s.flush()
        base = BASE
        s.add_all(
            [
                Playback(
                    site_id="cum-loa-t1",
                    item_id="s1-a",
                    announcement_id=ann.id,
                    scheduled_at=base,
                    started_at=base + timedelta(seconds=1),
                    finished_at=base + timedelta(seconds=31),
                    status="finished",
                ),
                Playback(
                    site_id="cum-loa-t2",
                    item_id="s1-b",
                    announcement_id=ann.id,
                    scheduled_at=base + timedelta(days=1),
                    status="failed",
                    detail="amplifier relay",
                ),
                Playback(site_id="gone-site", item_id="x", scheduled_at=base, status="skipped"),
            ]
        )
        return ann.id


def test_log_lists_playbacks_in_local_time(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    _playbacks(db)
    auth.login("canbo")
    page = client.get("/logs/").get_data(as_text=True)
    assert '<main data-live-seconds="10">' in page
    assert "Nhật ký phát" in page
    assert "Cụm loa thôn 1 - ngã ba chợ" in page and "Lịch tiêm phòng" in page
    assert "01/03/2026 07:30" in page and "07:30:01" in page and "07:30:31" in page
    assert "Đã phát" in page and "Phát lỗi" in page and "Bỏ qua" in page
    assert "gone-site" in page  # a site that no longer exists still shows its id
    # Newest first.
    assert page.index("02/03/2026 07:30") < page.index("01/03/2026 07:30")


def test_log_date_filter(client: FlaskClient, auth, db: sessionmaker[Session]) -> None:
    _playbacks(db)
    auth.login("canbo")
    page = client.get("/logs/?date=2026-03-02").get_data(as_text=True)
    assert "02/03/2026 07:30" in page and "01/03/2026 07:30" not in page
    page = client.get("/logs/?date=2026-01-01").get_data(as_text=True)
    assert "Chưa có lượt phát nào" in page
    assert client.get("/logs/?date=garbage").status_code == 200


def test_log_in_english(client: FlaskClient, auth, db: sessionmaker[Session]) -> None:
    _playbacks(db)
    auth.login("canbo")
    page = client.get("/logs/?lang=en").get_data(as_text=True)
    assert "Playback log" in page and "Played" in page and "Failed" in page
