"""The slots and relays pages (issue 13), on SQLite and PostgreSQL: the province's administrator
creates, edits and deletes slots and relays, refusals are in Vietnamese, a commune's
administrator sees the shared slots without changing them and reaches only their commune's
relays, and other roles are turned away."""

from __future__ import annotations

import re
from datetime import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import Relay, Slot
from broadcaster.scope import Scope
from schedules.programme_edit import RelayFields, save_relay
from tests.slots.conftest import logged_in
from tests.web.conftest import FakeRenderer

RELAY = {
    "name": "Thời sự VOV1",
    "stream_url": "https://stream.vov.vn/vov1",
    "start": "09:00",
    "minutes": "30",
    "days": ["MO", "TU", "WE", "TH", "FR"],
    "zones": ["thon-1", "thon-2"],
    "active": "y",
}


def _slot_id(db: sessionmaker[Session], name: str) -> int:
    with db() as s:
        return s.scalars(select(Slot.id).where(Slot.name == name)).one()


def _relay_id(db: sessionmaker[Session], name: str) -> int:
    with db() as s:
        return s.scalars(select(Relay.id).where(Relay.name == name)).one()


def test_the_administrator_creates_edits_and_deletes_a_slot(
    app: Flask, db: sessionmaker[Session]
) -> None:
    admin = logged_in(app, "quantri")
    page = admin.get("/slots/?lang=vi").get_data(as_text=True)
    assert "Khung giờ và tiếp sóng" in page and "Bản tin trưa" in page and "30 phút" in page
    assert 'href="/slots/"' in admin.get("/today/").get_data(as_text=True)  # in the menu
    r = admin.post(
        "/slots/new",
        data={"name": "Bản tin tối", "start": "19:00", "end": "19:45", "days": ["SA", "SU"]},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    slot_id = _slot_id(db, "Bản tin tối")
    listing = admin.get("/slots/").get_data(as_text=True)
    assert "19:00–19:45" in listing and "45 phút" in listing and "T7, CN" in listing
    r = admin.post(
        f"/slots/{slot_id}",
        data={"name": "Bản tin tối", "start": "20:00", "end": "20:30", "days": ["MO"]},
    )
    assert r.status_code == 302
    with db() as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None and (f"{slot.start:%H:%M}", slot.days) == ("20:00", "MO")
    assert admin.post(f"/slots/{slot_id}/delete").status_code == 302
    with db() as s:
        assert s.get(Slot, slot_id) is None


def test_slot_refusals_are_in_vietnamese(app: Flask) -> None:
    admin = logged_in(app, "quantri")
    r = admin.post("/slots/new", data={"name": "X", "start": "10:00", "end": "09:00"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Giờ kết thúc phải sau giờ bắt đầu (trong cùng một ngày)." in page
    assert "Chọn ít nhất một ngày." in page
    r = admin.post(
        "/slots/new", data={"name": "Bản tin sáng", "start": "07:00", "end": "07:30", "days": "MO"}
    )
    assert "Tên này đã có." in r.get_data(as_text=True)
    assert "Mục này là bắt buộc." in admin.post("/slots/new", data={}).get_data(as_text=True)


def test_the_administrator_creates_edits_and_deletes_a_relay(
    app: Flask, db: sessionmaker[Session], renderer: FakeRenderer
) -> None:
    admin = logged_in(app, "quantri")
    assert admin.post("/slots/relays/new", data=RELAY).status_code == 302
    relay_id = _relay_id(db, "Thời sự VOV1")
    with db() as s:
        relay = s.get(Relay, relay_id)
        assert relay is not None and relay.fallback_sha256 is not None
        assert (relay.duration_s, relay.days, relay.active) == (1800, "MO,TU,WE,TH,FR", True)
        assert sorted(z.id for z in relay.zones) == ["thon-1", "thon-2"]
    listing = admin.get("/slots/").get_data(as_text=True)
    assert "09:00–09:30" in listing and "Thôn 1, Thôn 2" in listing and "Đang dùng" in listing
    form = admin.get(f"/slots/relays/{relay_id}").get_data(as_text=True)
    assert 'value="https://stream.vov.vn/vov1"' in form and 'value="30"' in form
    paused = {**RELAY, "minutes": "60", "zones": ["thon-2"]}
    del paused["active"]
    assert admin.post(f"/slots/relays/{relay_id}", data=paused).status_code == 302
    with db() as s:
        relay = s.get(Relay, relay_id)
        assert relay is not None and (relay.duration_s, relay.active) == (3600, False)
    assert "Tạm dừng" in admin.get("/slots/").get_data(as_text=True)
    assert admin.post(f"/slots/relays/{relay_id}/delete").status_code == 302
    with db() as s:
        assert s.get(Relay, relay_id) is None


def test_relay_refusals_are_in_vietnamese(app: Flask, renderer: FakeRenderer) -> None:
    admin = logged_in(app, "quantri")
    page = admin.post(
        "/slots/relays/new", data={**RELAY, "stream_url": "rtsp://x", "zones": []}
    ).get_data(as_text=True)
    assert "Nhập địa chỉ luồng phát, bắt đầu bằng http:// hoặc https://." in page
    page = admin.post("/slots/relays/new", data={**RELAY, "zones": []}).get_data(as_text=True)
    assert "Chọn ít nhất một khu vực do bạn quản lý." in page
    page = admin.post("/slots/relays/new", data={**RELAY, "minutes": "900"}).get_data(as_text=True)
    assert "720" in page
    renderer.fail = True
    page = admin.post("/slots/relays/new", data=RELAY).get_data(as_text=True)
    assert "Chưa tạo được thông báo dự phòng cho lịch tiếp sóng; hãy thử lại." in page


def test_a_commune_administrator_sees_slots_and_only_their_relays(
    app: Flask, db: sessionmaker[Session], renderer: FakeRenderer, commune_admin: FlaskClient
) -> None:
    with transaction(db) as s:
        theirs = save_relay(
            s,
            Scope.whole(),
            RelayFields("Đài Đắk Mar", "https://dm.example/live", time(6, 30), 20, ("dm-thon-3",)),
            renderer,
        ).id
    page = commune_admin.get("/slots/").get_data(as_text=True)
    assert "Bản tin sáng" in page and "Quản trị viên cấp tỉnh mới được sửa." in page
    assert 'id="new-slot"' not in page and "Đài Đắk Mar" not in page
    morning = _slot_id(db, "Bản tin sáng")
    assert commune_admin.get(f"/slots/{morning}").status_code == 403
    assert commune_admin.post(f"/slots/{morning}/delete").status_code == 403
    assert commune_admin.get("/slots/new").status_code == 403
    assert commune_admin.get(f"/slots/relays/{theirs}").status_code == 404
    assert commune_admin.post(f"/slots/relays/{theirs}", data=RELAY).status_code == 404
    assert commune_admin.post(f"/slots/relays/{theirs}/delete").status_code == 404
    form = commune_admin.get("/slots/relays/new").get_data(as_text=True)
    offered = set(re.findall(r'name="zones"[^>]*value="([\w-]+)"', form))
    assert offered == {"thon-1", "thon-2", "thon-5"}
    page = commune_admin.post("/slots/relays/new", data={**RELAY, "zones": ["dm-thon-3"]}).get_data(
        as_text=True
    )
    assert "không phải là lựa chọn hợp lệ" in page
    assert commune_admin.post("/slots/relays/new", data=RELAY).status_code == 302
    with db() as s:
        assert s.get(Relay, theirs) is not None
        assert sorted(s.scalars(select(Relay.name))) == ["Thời sự VOV1", "Đài Đắk Mar"]


def test_other_roles_are_turned_away(app: Flask) -> None:
    for username in ("bientap", "pheduyet", "canbo"):
        c = logged_in(app, username)
        assert c.get("/slots/").status_code == 403
        assert c.post("/slots/relays/new", data=RELAY).status_code == 403
        assert 'href="/slots/"' not in c.get("/today/").get_data(as_text=True)
