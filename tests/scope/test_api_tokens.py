"""API tokens made in the web (issue 13): shown once, kept hashed, each reading its unit's
subtree through the one scope, revoked at once; a commune administrator's reach stops at the
commune."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts, api_tokens
from broadcaster.models import ApiToken, Unit
from tests.scope.conftest import PASSWORDS, Province


def _unit(db: sessionmaker[Session], code: str) -> int:
    with db() as s:
        return s.scalars(select(Unit.id).where(Unit.code == code)).one()


def test_a_token_reads_its_commune_only_and_stops_when_revoked(
    app: Flask, db: sessionmaker[Session], province: Province
) -> None:
    admin = app.test_client()
    admin.post("/login", data={"username": "quantri", "password": PASSWORDS["quantri"]})
    made = admin.post(
        "/tokens/", data={"name": "Báo cáo huyện cũ", "unit": str(_unit(db, "62001"))}
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    found = re.search(
        r'<code id="secret" class="secret">(bt_[\w-]+)</code>', made.get_data(as_text=True)
    )
    assert found
    secret = found.group(1)
    with db() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.name == "Báo cáo huyện cũ")).one()
        assert row.token_sha256 == api_tokens.digest(secret) and secret not in row.token_sha256
    assert secret not in admin.get("/tokens/").get_data(as_text=True)  # shown that once

    system = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    logs = system.get("/api/v1/logs", headers=bearer)
    assert logs.status_code == 200
    sites = {row["site_id"] for row in logs.get_json()["items"]}
    assert province.a.site in sites and province.b.site not in sites
    assert (
        system.get(f"/api/v1/announcements/{province.b.approved}/proof", headers=bearer).status_code
        == 404
    )
    with db() as s:
        assert (
            s.scalars(select(ApiToken.last_used_at).where(ApiToken.id == row.id)).one() is not None
        )

    admin.post(f"/tokens/{row.id}/revoke")
    assert system.get("/api/v1/logs", headers=bearer).status_code == 401
    assert (
        system.get("/api/v1/logs", headers={"Authorization": "Bearer bt_guessed"}).status_code
        == 401
    )


def test_a_commune_administrator_sees_and_revokes_only_their_communes_tokens(
    app: Flask, db: sessionmaker[Session], province: Province
) -> None:
    with db() as s, s.begin():
        dh = s.get(Unit, _unit(db, "62001"))
        assert dh is not None
        accounts.create_user(s, "quantri-dh", "quantri-dh-123", "admin", "QT Đắk Hà", dh)
    client = app.test_client()
    client.post("/login", data={"username": "quantri-dh", "password": "quantri-dh-123"})
    page = client.get("/tokens/").get_data(as_text=True)
    assert "Hệ thống Đắk Hà" in page and "Hệ thống Đắk Mar" not in page
    assert client.post(f"/tokens/{province.b.token}/revoke").status_code == 404
    with db() as s:
        assert s.get(ApiToken, province.b.token).revoked_at is None  # type: ignore[union-attr]
    options = re.findall(r'<option[^>]*value="(\d+)"', page)
    assert options == [str(_unit(db, "62001"))]
