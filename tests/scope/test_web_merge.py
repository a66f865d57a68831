"""Merging communes from the web (issue 11): a province administrator picks the communes, sees
what moves, confirms (with the CSRF token); who and when are recorded; an administrator of one
commune cannot reach the others. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.render import Rendered
from broadcaster.accounts import create_user
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.models import Playback, Unit, User, Zone
from broadcaster.units import add_unit, by_code
from tests.support.clock import FIXED_NOW
from tests.support.webapp import PASSWORDS, flask_app

DAK_HA, DAK_MAR, NEW = "62001", "62002", "62003"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def clock_start() -> datetime:
    """A fake clock at the suite's now (the folder's is the system clock)."""
    return FIXED_NOW


@pytest.fixture
def factory(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(any_db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def app(settings: Settings, any_db_url: str, factory: sessionmaker[Session], clock: FakeClock):  # noqa: ANN201
    def no_renderer(text: str, **options: object) -> Rendered:
        raise AssertionError("merging renders no speech")

    with flask_app(
        settings.replace(database_url=any_db_url), factory, no_renderer, clock=clock
    ) as app:
        with transaction(factory) as s:
            add_unit(s, "commune", NEW, "Xã Đắk Mới", by_code(s, "62"))
            create_user(s, "quantri-dh", "quantri123", "admin", unit=by_code(s, DAK_HA))
            ha = by_code(s, DAK_HA).id
            for item, at, status in (("past", -1, "finished"), ("next", 2, "scheduled")):
                s.add(
                    Playback(
                        site_id="cum-loa-t1",
                        item_id=item,
                        scheduled_at=clock.now() + timedelta(hours=at),
                        status=status,
                        updated_at=clock.now(),
                        unit_id=ha,
                    )
                )
        app.config["WTF_CSRF_ENABLED"] = True  # the real thing: every form carries its token
        yield app


def _login(client: FlaskClient, username: str) -> None:
    token = TOKEN.search(client.get("/login").get_data(as_text=True))
    assert token
    password = PASSWORDS.get(username, "quantri123")
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token[1]}
    )
    assert r.status_code == 302, f"{username} could not log in"


def _ids(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {u.code: u.id for u in s.scalars(select(Unit))}


def _state(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as s:
        units = {
            u.code: (u.merged_into_id, u.merged_by, u.merged_at) for u in s.scalars(select(Unit))
        }
        zones = {z.id: z.unit_id for z in s.scalars(select(Zone))}
        airings = {p.item_id: p.unit_id for p in s.scalars(select(Playback))}
        users = {u.username: u.unit_id for u in s.scalars(select(User))}
    return {"units": units, "zones": zones, "airings": airings, "users": users}


def test_province_admin_sees_what_moves_then_confirms(
    app: Flask, factory: sessionmaker[Session], clock: FakeClock
) -> None:
    ids = _ids(factory)
    client = app.test_client()
    _login(client, "quantri")
    page = client.get("/units/merge").get_data(as_text=True)
    assert "Sáp nhập xã" in page and 'href="/units/merge"' in page  # Vietnamese, in the menu
    assert all(name in page for name in ("Xã Đắk Hà", "Xã Đắk Mar", "Xã Đắk Mới"))
    token = TOKEN.search(page)
    assert token
    choice = {"sources": [ids[DAK_HA], ids[DAK_MAR]], "into": ids[NEW], "csrf_token": token[1]}
    before = _state(factory)

    shown = client.post("/units/merge", data=choice).get_data(as_text=True)
    assert "Xác nhận sáp nhập" in shown
    for moved in ("Thôn 1", "Làng Kon Tèo (Đắk Mar)", "Cụm loa thôn 1 - ngã ba chợ",
                  "bientap-dh", "pheduyet-dm", "quantri-dh"):  # fmt: skip
        assert moved in shown, moved
    assert "1 lượt phát đã lên lịch và chưa phát" in shown  # the next airing, not the past one
    assert _state(factory) == before, "the first step changed something"

    english = client.post("/units/merge?lang=en", data=choice).get_data(as_text=True)
    assert "Confirm the merge" in english and "This moves:" in english
    client.get("/units/merge?lang=vi")

    no_token = {k: v for k, v in choice.items() if k != "csrf_token"}
    assert client.post("/units/merge/confirm", data=no_token).status_code == 400
    assert _state(factory) == before

    r = client.post("/units/merge/confirm", data=choice)
    assert r.status_code == 302 and r.headers["Location"] == "/units/merge"
    after = _state(factory)
    for code in (DAK_HA, DAK_MAR):
        merged_into, merged_by, merged_at = after["units"][code]
        assert (merged_into, merged_by) == (ids[NEW], "quantri")
        assert merged_at == clock.now()
    assert set(after["zones"].values()) == {ids[NEW]}
    assert after["users"]["bientap-dh"] == after["users"]["quantri-dh"] == ids[NEW]
    assert after["users"]["quantri"] == ids["62"]
    assert after["airings"] == {"past": ids[DAK_HA], "next": ids[NEW]}  # history keeps its unit
    page = client.get("/units/merge").get_data(as_text=True)
    assert "Đã sáp nhập Xã Đắk Hà, Xã Đắk Mar vào Xã Đắk Mới." in page
    assert f'value="{ids[DAK_HA]}"' not in page  # a merged commune is no longer offered


def test_merging_into_itself_is_refused(app: Flask, factory: sessionmaker[Session]) -> None:
    ids = _ids(factory)
    client = app.test_client()
    _login(client, "quantri")
    token = TOKEN.search(client.get("/units/merge").get_data(as_text=True))
    assert token
    before = _state(factory)
    data = {"sources": [ids[DAK_HA], ids[DAK_MAR]], "into": ids[DAK_HA], "csrf_token": token[1]}
    r = client.post("/units/merge/confirm", data=data)
    assert r.status_code == 400 and "Một xã không thể sáp nhập vào chính nó." in r.get_data(
        as_text=True
    )
    assert _state(factory) == before


def test_only_an_admin_whose_unit_holds_every_commune(
    app: Flask, factory: sessionmaker[Session]
) -> None:
    ids = _ids(factory)
    before = _state(factory)
    client = app.test_client()
    _login(client, "quantri-dh")  # an administrator of Đắk Hà only
    page = client.get("/units/merge").get_data(as_text=True)
    assert "không có gì để sáp nhập" in page and "Xã Đắk Mar" not in page
    token = TOKEN.search(client.get("/lexicon/").get_data(as_text=True))
    assert token
    for sources, into in (
        ([ids[DAK_HA]], ids[DAK_MAR]),
        ([ids[DAK_MAR]], ids[DAK_HA]),
        ([ids[DAK_MAR], ids[NEW]], ids[DAK_HA]),
    ):
        data = {"sources": sources, "into": into, "csrf_token": token[1]}
        for url in ("/units/merge", "/units/merge/confirm"):
            r = client.post(url, data=data)
            assert r.status_code == 400, url
            assert "Xã Đắk Mar" not in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token[1]})
    _login(client, "canbo")  # the province's officer: not an administrator
    assert client.get("/units/merge").status_code == 403
    assert _state(factory) == before
