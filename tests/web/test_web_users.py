"""User administration in the browser's forms (issue 13): an administrator creates, changes,
disables and resets the password of users in their unit and below, never outside it, and
cannot lock themselves out."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts
from broadcaster.models import Unit, User
from tests.support.webapp import PASSWORDS


def _login(client: FlaskClient, username: str, password: str | None = None) -> int:
    r = client.post(
        "/login", data={"username": username, "password": password or PASSWORDS[username]}
    )
    return r.status_code


def _unit_id(db: sessionmaker[Session], code: str) -> int:
    with db() as s:
        return s.scalars(select(Unit.id).where(Unit.code == code)).one()


def _user(db: sessionmaker[Session], username: str) -> User:
    with db() as s:
        return s.scalars(select(User).where(User.username == username)).one()


def _form(db: sessionmaker[Session], **values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "display_name": "Hoa",
        "role": "editor",
        "unit": str(_unit_id(db, "62001")),
        "email": "",
        "phone": "",
    }
    data.update(values)
    return data


def test_an_administrator_creates_disables_and_resets_a_user(
    app: Flask, db: sessionmaker[Session]
) -> None:
    client, other = app.test_client(), app.test_client()
    assert _login(client, "quantri") == 302
    page = client.get("/users/").get_data(as_text=True)
    assert "Người dùng" in page and "bientap-dm" in page  # the province sees every commune's
    r = client.post(
        "/users/new",
        data=_form(
            db,
            username="hoa",
            password="mat-khau-hoa-1",
            confirm="mat-khau-hoa-1",
            email="hoa@example.gov.vn",
            phone="0905 111 222",
        ),
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    hoa = _user(db, "hoa")
    assert (hoa.role, hoa.unit_id, hoa.email) == (
        "editor",
        _unit_id(db, "62001"),
        "hoa@example.gov.vn",
    )
    taken = client.post(
        "/users/new",
        data=_form(db, username="hoa", password="mat-khau-hoa-1", confirm="mat-khau-hoa-1"),
    )
    assert "Tên đăng nhập này đã có người dùng." in taken.get_data(as_text=True)

    assert _login(other, "hoa", "mat-khau-hoa-1") == 302
    assert other.get("/announcements/").status_code == 200
    # Disabled: the open session ends and a new login is refused.
    r = client.post(f"/users/{hoa.id}", data=_form(db, display_name="Hoa", role="editor"))
    assert r.status_code == 302 and not _user(db, "hoa").active
    assert other.get("/announcements/").status_code == 302  # to the login page
    assert _login(other, "hoa", "mat-khau-hoa-1") == 200  # the form again: refused
    # Enabled, with a new password: the old one no longer works.
    client.post(f"/users/{hoa.id}", data=_form(db, active="y"))
    r = client.post(
        f"/users/{hoa.id}/password",
        data={"password": "mat-khau-moi-2", "confirm": "mat-khau-moi-2"},
    )
    assert r.status_code == 302
    assert _login(other, "hoa", "mat-khau-hoa-1") == 200
    assert _login(other, "hoa", "mat-khau-moi-2") == 302


def test_no_one_locks_themselves_out(client: FlaskClient, db: sessionmaker[Session]) -> None:
    assert _login(client, "quantri") == 302
    me = _user(db, "quantri")
    province = str(me.unit_id)
    r = client.post(f"/users/{me.id}", data=_form(db, role="admin", unit=province))  # no "active"
    assert r.status_code == 409
    assert "Bạn không thể tự đổi vai trò" in r.get_data(as_text=True)
    r = client.post(f"/users/{me.id}", data=_form(db, role="editor", unit=province, active="y"))
    assert r.status_code == 409
    again = _user(db, "quantri")
    assert again.active and again.role == "admin"


def test_a_commune_administrator_sees_and_offers_only_their_commune(
    client: FlaskClient, db: sessionmaker[Session]
) -> None:
    with db() as s, s.begin():
        dh = s.scalars(select(Unit).where(Unit.code == "62001")).one()
        accounts.create_user(s, "quantri-dh", "quantri-dh-123", "admin", "QT Đắk Hà", dh)
    assert _login(client, "quantri-dh", "quantri-dh-123") == 302
    page = client.get("/users/").get_data(as_text=True)
    assert "bientap-dh" in page and "bientap-dm" not in page and "quantri</a>" not in page
    form = client.get("/users/new").get_data(as_text=True)
    units = re.findall(r'<option[^>]*value="(\d+)"', form)
    assert units == [str(_unit_id(db, "62001"))]
    dm_editor = _user(db, "bientap-dm")
    assert client.get(f"/users/{dm_editor.id}").status_code == 404
    r = client.post(
        f"/users/{dm_editor.id}/password",
        data={"password": "chiem-quyen-1", "confirm": "chiem-quyen-1"},
    )
    assert r.status_code == 404
    # Placing a new user in Đắk Mar is not a choice it has.
    r = client.post(
        "/users/new",
        data=_form(
            db,
            username="xam-nhap",
            password="mat-khau-dai-1",
            confirm="mat-khau-dai-1",
            unit=str(_unit_id(db, "62002")),
        ),
    )
    assert r.status_code == 200 and "Lựa chọn không hợp lệ." in r.get_data(as_text=True)
    with db() as s:
        assert s.scalar(select(User.id).where(User.username == "xam-nhap")) is None


def test_only_administrators_reach_user_administration(client: FlaskClient) -> None:
    assert _login(client, "pheduyet") == 302
    assert client.get("/users/").status_code == 403
