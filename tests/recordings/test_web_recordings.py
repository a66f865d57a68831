"""Recordings in the web UI and the JSON API: real files through the real validation."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from broadcaster.clock import SYSTEM_CLOCK  # these apps run on the system clock
from broadcaster.db import transaction
from broadcaster.models import AnnouncementVersion, Media, User
from schedules import workflow
from tests.recordings.conftest import Login, make_audio
from tests.recordings.test_versions import PNG


def _draft(app: Flask, zones: tuple[str, ...] = ("thon-5",)) -> int:
    with transaction(app.extensions["broadcaster"].sessions) as s:
        editor = s.scalar(select(User).where(User.username == "bientap"))
        ann = workflow.create_announcement(
            s,
            editor,
            title="Tiêm phòng gia súc",
            body="Sáng mai bà con mang gia súc đi tiêm phòng.",
            zone_ids=list(zones),
            start_at=SYSTEM_CLOCK.now() + timedelta(hours=2),
            repeat=1,
        )
        return ann.id


def _count(app: Flask, model: type) -> int:
    with app.extensions["broadcaster"].sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_upload_in_the_page_then_preview(app, client: FlaskClient, login: Login, tmp_path) -> None:
    ann_id = _draft(app)
    login("bientap")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert 'value="bahnar" selected' in page  # the hamlet's language is proposed
    voice = make_audio(tmp_path / "kon-klo.ogg", "sine=frequency=220:duration=3", "-c:a", "libopus")
    r = client.post(
        f"/announcements/{ann_id}/recordings",
        data={"language": "bahnar", "file": (io.BytesIO(voice), "kon-klo.ogg")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Đã lưu bản ghi tiếng Ba Na" in html
    assert 'data-language="bahnar"' in html and "/media/" in html and "kon-klo.ogg" in html

    client.post("/logout")
    login("pheduyet")
    html = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert 'data-language="bahnar"' in html and "<audio" in html
    assert "Tải bản ghi lên" not in html  # approvers listen, they do not upload


def test_png_renamed_mp3_is_refused_in_vietnamese(app, client: FlaskClient, login: Login) -> None:
    ann_id = _draft(app)
    login("bientap")
    r = client.post(
        f"/announcements/{ann_id}/recordings",
        data={"language": "bahnar", "file": (io.BytesIO(PNG), "thong-bao.mp3")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Tệp này không phải là âm thanh" in r.get_data(as_text=True)
    assert _count(app, AnnouncementVersion) == 0 and _count(app, Media) == 0


def test_api_accepts_a_recording_and_lists_it(
    app, client: FlaskClient, login: Login, tmp_path: Path
) -> None:
    ann_id = _draft(app)
    login("bientap")
    voice = make_audio(tmp_path / "r.webm", "sine=frequency=250:duration=2", "-c:a", "libopus")
    r = client.post(
        "/api/recordings",
        data={
            "announcement_id": str(ann_id),
            "language": "bahnar",
            "source": "browser",
            "file": (io.BytesIO(voice), "recording.webm"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["language"], body["source"], body["language_name"]) == (
        "bahnar",
        "browser",
        "Ba Na",
    )
    assert body["media"]["duration_ms"] > 2000
    media = client.get(body["media"]["url"])
    assert media.status_code == 200 and media.data[:3] in (b"ID3", b"\xff\xfb")
    media.close()
    listed = client.get(f"/api/recordings?announcement_id={ann_id}").get_json()
    assert [v["id"] for v in listed["recordings"]] == [body["id"]]


def test_api_refusals_are_json_in_vietnamese_and_store_nothing(
    app, client: FlaskClient, login: Login, tmp_path: Path
) -> None:
    ann_id = _draft(app)

    def post(data: bytes, name: str = "a.mp3", language: str = "bahnar"):  # noqa: ANN202
        # Encoded here, in memory: the test client would spool a large body to a temporary
        # file that it never closes (a ResourceWarning under filterwarnings=error).
        fields = {"announcement_id": str(ann_id), "language": language}
        boundary, body = encode_multipart(
            MultiDict([*fields.items(), ("file", FileStorage(io.BytesIO(data), name))])
        )
        return client.post(
            "/api/recordings",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    assert post(PNG).status_code == 401  # not logged in
    login("bientap")
    r = post(PNG)
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "not_audio"
    assert "không phải là âm thanh" in r.get_json()["error"]["message"]
    silent = make_audio(tmp_path / "q.wav", "anullsrc=r=44100:cl=mono:d=2")
    assert post(silent).get_json()["error"]["code"] == "silent"
    long = make_audio(tmp_path / "l.mp3", "sine=duration=30", "-b:a", "32k")
    r = post(long)
    assert r.get_json()["error"]["code"] == "too_long"
    assert "tối đa 20 giây" in r.get_json()["error"]["message"]
    r = post(b"\0" * (1024 * 1024 + 10))
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_big"
    r = post(silent, language="klingon")
    assert r.get_json()["error"]["code"] == "unknown-language"
    assert _count(app, AnnouncementVersion) == 0 and _count(app, Media) == 0
