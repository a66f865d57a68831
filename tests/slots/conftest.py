"""Daily slots and relays in the web (issue 13), on SQLite and PostgreSQL: the lifecycle tests'
app (demo programme, the suite's fixed "now") and a commune administrator of Đắk Hà."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts
from broadcaster.db import transaction
from broadcaster.models import Unit
from tests.lifecycle.conftest import (  # noqa: F401  (fixtures reused from the lifecycle tests)
    FakeRenderer,
    app,
    client,
    db,
    pytest_runtest_makereport,
    renderer,
    sample_mp3,
)
from tests.support.webapp import PASSWORDS

COMMUNE_ADMIN = ("quantri-dh", "quantri-dh-123")


def logged_in(app: Flask, username: str, password: str | None = None) -> FlaskClient:  # noqa: F811
    c = app.test_client()
    r = c.post("/login", data={"username": username, "password": password or PASSWORDS[username]})
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


@pytest.fixture
def commune_admin(app: Flask, db: sessionmaker[Session]) -> FlaskClient:  # noqa: F811
    """Đắk Hà's own administrator, logged in."""
    with transaction(db) as s:
        dh = s.scalars(select(Unit).where(Unit.code == "62001")).one()
        accounts.create_user(s, *COMMUNE_ADMIN, "admin", "Quản trị xã Đắk Hà", dh)
    return logged_in(app, *COMMUNE_ADMIN)
