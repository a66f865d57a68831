"""The lexicon pages: administrators only, CSRF, add/edit/delete, import, try it, and an
entry changing what the voice says at the next render."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audio.tts.fake import FakeEngine
from broadcaster.clock import SYSTEM_CLOCK  # these apps run on the system clock
from broadcaster.db import transaction
from broadcaster.models import Announcement, LexiconEntry, User
from schedules import workflow
from tests.lexicon.conftest import Login


def _entries(app: Flask) -> dict[str, tuple[str, str]]:
    with app.extensions["broadcaster"].sessions() as s:
        return {e.term: (e.spoken, e.note) for e in s.scalars(select(LexiconEntry))}


def _id(app: Flask, term: str) -> int:
    with app.extensions["broadcaster"].sessions() as s:
        return int(s.scalar(select(LexiconEntry.id).where(LexiconEntry.term == term)) or 0)


def _add(client: FlaskClient, term: str, spoken: str, note: str = "") -> str:
    r = client.post(
        "/lexicon/add",
        data={"term": term, "spoken": spoken, "note": note},
        follow_redirects=True,
    )
    return r.get_data(as_text=True)


def _import(client: FlaskClient, content: bytes, name: str):  # noqa: ANN202
    return client.post(
        "/lexicon/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.mark.parametrize("username", ["bientap", "pheduyet", "canbo"])
def test_only_administrators(app: Flask, client: FlaskClient, login: Login, username: str) -> None:
    login(username)
    assert client.get("/lexicon/").status_code == 403
    assert client.post("/lexicon/add", data={"term": "KDC", "spoken": "x"}).status_code == 403
    assert _entries(app) == {}
    assert "/lexicon/" not in client.get("/schedule/").get_data(as_text=True)  # no menu link


def test_anonymous_is_sent_to_log_in(client: FlaskClient) -> None:
    r = client.get("/lexicon/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_forms_need_the_csrf_token(app: Flask, client: FlaskClient, login: Login) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    client.post(
        "/login", data={"username": "quantri", "password": "quantri123", "csrf_token": token[1]}
    )
    page = client.get("/lexicon/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token

    assert (
        client.post("/lexicon/add", data={"term": "KDC", "spoken": "khu dân cư"}).status_code == 400
    )
    assert _entries(app) == {}
    r = client.post(
        "/lexicon/add", data={"term": "KDC", "spoken": "khu dân cư", "csrf_token": token[1]}
    )
    assert r.status_code == 302 and "KDC" in _entries(app)
    entry_id = _id(app, "KDC")
    assert client.post(f"/lexicon/{entry_id}/delete").status_code == 400
    assert "KDC" in _entries(app)
    r = client.post(f"/lexicon/{entry_id}/delete", data={"csrf_token": token[1]})
    assert r.status_code == 302 and _entries(app) == {}


def test_add_edit_delete(app: Flask, client: FlaskClient, login: Login) -> None:
    login("quantri")
    page = client.get("/lexicon/").get_data(as_text=True)
    assert "Từ điển phát âm" in page and 'href="/lexicon/"' in page  # Vietnamese, and in the menu

    html = _add(client, " KDC ", "Khu  Dân Cư", "khu dân cư ở Kon Klo")
    assert "Đã thêm “KDC”" in html
    assert _entries(app) == {"KDC": ("khu dân cư", "khu dân cư ở Kon Klo")}

    html = _add(client, "KDC", "ca đê xê")
    assert "“KDC” đã có trong từ điển" in html
    html = _add(client, "thôn bản", "x")
    assert "không phải một từ" in html
    html = _add(client, "HTX", "hợp tác xã số 2")
    assert "viết số bằng chữ" in html
    assert set(_entries(app)) == {"KDC"}

    entry_id = _id(app, "KDC")
    form = client.get(f"/lexicon/{entry_id}/edit").get_data(as_text=True)
    assert 'value="KDC"' in form and 'value="khu dân cư"' in form
    r = client.post(
        f"/lexicon/{entry_id}/edit",
        data={"term": "KDC", "spoken": "khu dân cư tập trung", "note": ""},
        follow_redirects=True,
    )
    assert "Đã lưu “KDC”" in r.get_data(as_text=True)
    assert _entries(app) == {"KDC": ("khu dân cư tập trung", "")}

    _add(client, "HTX", "hợp tác xã")
    r = client.post(f"/lexicon/{entry_id}/edit", data={"term": "HTX", "spoken": "x"})
    assert r.status_code == 400 and "“HTX” đã có trong từ điển" in r.get_data(as_text=True)

    r = client.post(f"/lexicon/{entry_id}/delete", follow_redirects=True)
    assert "Đã xóa “KDC”" in r.get_data(as_text=True)
    assert set(_entries(app)) == {"HTX"}
    assert client.post(f"/lexicon/{entry_id}/delete").status_code == 404


def test_search_folds_vietnamese_capitals(app: Flask, client: FlaskClient, login: Login) -> None:
    login("quantri")
    _add(client, "Đắk", "đắc")
    _add(client, "KDC", "khu dân cư")
    page = client.get("/lexicon/", query_string={"q": "đẮK"}).get_data(as_text=True)
    assert "<strong>Đắk</strong>" in page and "<strong>KDC</strong>" not in page
    page = client.get("/lexicon/", query_string={"q": "dân"}).get_data(as_text=True)
    assert "<strong>KDC</strong>" in page and "<strong>Đắk</strong>" not in page


def test_try_it_shows_the_spoken_form(app: Flask, client: FlaskClient, login: Login) -> None:
    login("quantri")
    _add(client, "KDC", "khu dân cư")
    page = client.get(
        "/lexicon/", query_string={"sample": "Họp KDC lúc 7h30 tại UBND xã."}
    ).get_data(as_text=True)
    assert "họp khu dân cư lúc bảy giờ ba mươi phút tại ủy ban nhân dân xã." in page


def test_import_a_good_file(app: Flask, client: FlaskClient, login: Login) -> None:
    login("quantri")
    _add(client, "KDC", "ca đê xê", "viết tay")
    content = "term,spoken\nKDC,khu dân cư\nBQLDA,ban quản lý dự án\nĐắk,đắc\n".encode()
    html = _import(client, content, "tu-dien.csv").get_data(as_text=True)
    assert "Đã nhập tu-dien.csv: 2 mục mới, 1 mục cập nhật, 0 mục không đổi." in html
    assert _entries(app) == {
        "KDC": ("khu dân cư", "viết tay"),
        "BQLDA": ("ban quản lý dự án", "Nhập từ tu-dien.csv"),
        "Đắk": ("đắc", "Nhập từ tu-dien.csv"),
    }
    html = _import(client, "KDC: khu dân cư\n".encode(), "mot.yaml").get_data(as_text=True)
    assert "0 mục mới, 0 mục cập nhật, 1 mục không đổi" in html


def test_import_a_bad_file_names_the_lines(app: Flask, client: FlaskClient, login: Login) -> None:
    login("quantri")
    content = "UBND: ủy ban nhân dân\nKDC: khu 2\n# ghi chú\nUBND: uỷ ban\n".encode()
    r = _import(client, content, "sai.yaml")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Không nhập gì cả" in html
    assert "Dòng 2: Hãy viết số bằng chữ" in html
    assert "Dòng 4: “UBND” đã có ở dòng 1." in html
    assert _entries(app) == {}

    r = _import(client, b"A,b\nB,c\xff\n", "excel.csv")
    assert r.status_code == 400 and "Dòng 2: Tệp không phải văn bản UTF-8" in r.get_data(
        as_text=True
    )
    r = client.post("/lexicon/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "Hãy chọn một tệp YAML hoặc CSV." in r.get_data(as_text=True)


def test_english_page(client: FlaskClient, login: Login) -> None:
    login("quantri")
    page = client.get("/lexicon/?lang=en").get_data(as_text=True)
    assert "Pronunciation lexicon" in page and "Import a file" in page


def test_a_new_entry_changes_the_next_render(
    app: Flask, client: FlaskClient, login: Login, engine: FakeEngine
) -> None:
    with transaction(app.extensions["broadcaster"].sessions) as s:
        editor = s.scalar(select(User).where(User.username == "bientap"))
        ann = workflow.create_announcement(
            s,
            editor,
            title="Họp dân",
            body="Mời bà con KDC Kon Klo dự họp.",
            zone_ids=["thon-1"],
            start_at=SYSTEM_CLOCK.now() + timedelta(hours=2),
            repeat=1,
        )
        ann_id = ann.id

    login("bientap")
    client.post(f"/announcements/{ann_id}/submit")
    assert "ca dê xê" in " ".join(engine.calls)  # spelled out letter by letter
    client.post("/logout")

    login("quantri")
    _add(client, "KDC", "khu dân cư")
    client.post("/logout")

    with transaction(app.extensions["broadcaster"].sessions) as s:
        ann = s.get(Announcement, ann_id)
        approver = s.scalar(select(User).where(User.username == "pheduyet"))
        assert ann is not None and approver is not None
        workflow.reject(s, ann, approver, "đọc sai KDC")
    engine.calls.clear()
    login("bientap")
    client.post(f"/announcements/{ann_id}/submit")
    spoken = " ".join(engine.calls)
    assert "khu dân cư kon klo" in spoken and "ca dê xê" not in spoken
