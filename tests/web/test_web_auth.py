"""Login, logout, roles, CSRF and language."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def test_login_page_is_vietnamese_by_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    assert "Tên đăng nhập" in page and "Mật khẩu" in page


def test_lang_en_switches_and_is_remembered(client: FlaskClient) -> None:
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page and "Đăng nhập" not in page
    assert "Log in" in client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in client.get("/login?lang=vi").get_data(as_text=True)


def test_login_shows_user_and_role_then_logout(client: FlaskClient, auth) -> None:
    r = auth.login("bientap")
    assert r.status_code == 302
    page = client.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Nguyễn Thị Lan (biên tập)" in page
    assert "Biên tập viên" in page
    r = auth.logout()
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert "Bạn đã đăng xuất" in client.get("/login").get_data(as_text=True)
    r = client.get("/announcements/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wrong_password_is_refused(client: FlaskClient, auth) -> None:
    r = auth.login("bientap", "wrong-password")
    assert r.status_code == 200
    assert "Sai tên đăng nhập hoặc mật khẩu" in r.get_data(as_text=True)
    assert client.get("/announcements/").status_code == 302


def test_login_redirects_only_to_local_paths(client: FlaskClient) -> None:
    data = {"username": "canbo", "password": "canbo1234"}
    r = client.post("/login", data={**data, "next": "/schedule/"})
    assert r.headers["Location"] == "/schedule/"
    auth_logout = client.post("/logout")
    assert auth_logout.status_code == 302
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = client.post("/login", data={**data, "next": evil})
        assert "evil" not in r.headers["Location"]
        client.post("/logout")


def test_index_sends_every_role_to_today(client: FlaskClient, auth) -> None:
    assert "/login" in client.get("/").headers["Location"]
    for username in ("canbo", "pheduyet", "bientap", "quantri"):
        auth.login(username)
        assert client.get("/").headers["Location"].endswith("/today/")
        assert client.get("/today/").status_code == 200
        auth.logout()


def test_roles_are_enforced(client: FlaskClient, auth) -> None:
    auth.login("canbo")
    r = client.get("/announcements/new")
    assert r.status_code == 403
    assert "Không được phép" in r.get_data(as_text=True)
    assert auth.create().status_code == 403
    # Officers still read announcements, the schedule and the log.
    for url in ("/announcements/", "/schedule/", "/logs/"):
        assert client.get(url).status_code == 200, url


def test_post_without_csrf_token_is_refused(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_client() as client:
        r = client.post("/login", data={"username": "bientap", "password": "bientap123"})
        assert r.status_code == 400
        assert "Biểu mẫu đã hết hạn" in r.get_data(as_text=True)
        assert client.get("/announcements/").status_code == 302  # not logged in
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, page
        r = client.post(
            "/login",
            data={"username": "bientap", "password": "bientap123", "csrf_token": token[1]},
        )
        assert r.status_code == 302
        assert client.get("/announcements/").status_code == 200
        # A logged-in POST without the token is refused as well.
        assert client.post("/logout").status_code == 400


def test_error_pages_are_vietnamese(client: FlaskClient, auth) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Không tìm thấy trang" in r.get_data(as_text=True)
    r = client.get("/api/nothing-yet")
    assert r.status_code == 404 and r.is_json
