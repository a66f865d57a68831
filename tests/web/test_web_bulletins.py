"""The bulletin pages (issue 11): the province writes and a second person there approves; each
commune's staff accept into their programme or decline with a reason in their own inbox, and
never see or touch the other commune's; the sender's page shows each commune; an emergency
bulletin sends its command at once."""

from __future__ import annotations

import re
from datetime import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Bulletin, BulletinDelivery, Slot, Unit
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import bulletins
from tests.web.conftest import Auth


@pytest.fixture
def slot(db: sessionmaker[Session]) -> int:
    with transaction(db) as s:
        row = Slot(name="Buổi chiều", start=time(17, 0), end=time(18, 0))
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def sent(app: Flask) -> MemoryPublisher:
    memory = MemoryPublisher()
    services = app.extensions["broadcaster"]
    services.command_publisher = CommandPublisher(
        Signer.generate(), memory, Topics(services.settings.topic_root)
    )
    return memory


def _communes(db: sessionmaker[Session]) -> dict[str, int]:
    with db() as s:
        return {u.code: u.id for u in s.scalars(select(Unit).where(Unit.kind == "commune"))}


def _write(auth: Auth, db: sessionmaker[Session], priority: str, title: str) -> int:
    auth.login("bientap")
    ids = _communes(db)
    page = auth.client.get("/bulletins/new").get_data(as_text=True)
    assert "Xã Đắk Hà" in page and "Xã Đắk Mar" in page
    assert re.search(r"Tối đa \d+ ký tự", page)  # the text's limit, as on the announcement form
    resp = auth.client.post(
        "/bulletins/new",
        data={
            "title": title,
            "body": "Ủy ban nhân dân tỉnh thông báo lịch tiêm phòng cho gia súc.",
            "priority": priority,
            "communes": [str(ids["62001"]), str(ids["62002"])],
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bulletin_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    # The author cannot approve it (no form, and a refusal if posted anyway).
    assert auth.client.post(f"/bulletins/{bulletin_id}/approve").status_code == 403
    auth.logout()
    auth.login("pheduyet")
    page = auth.client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    assert "Duyệt và gửi" in page
    assert auth.client.post(f"/bulletins/{bulletin_id}/approve").status_code == 302
    auth.logout()
    return bulletin_id


def _delivery(db: sessionmaker[Session], bulletin_id: int, code: str) -> int:
    with db() as s:
        return s.scalars(
            select(BulletinDelivery.id)
            .join(Unit, Unit.id == BulletinDelivery.unit_id)
            .where(BulletinDelivery.bulletin_id == bulletin_id, Unit.code == code)
        ).one()


def _state(db: sessionmaker[Session], delivery_id: int) -> str:
    with db() as s:
        return s.get(BulletinDelivery, delivery_id).state  # type: ignore[union-attr]


def test_normal_bulletin_accepted_by_one_commune_declined_by_the_other(
    auth: Auth, client: FlaskClient, db: sessionmaker[Session], slot: int
) -> None:
    bulletin_id = _write(auth, db, "normal", "Lịch tiêm phòng gia súc")
    a, b = _delivery(db, bulletin_id, "62001"), _delivery(db, bulletin_id, "62002")
    # Commune A's staff see their own inbox item only.
    auth.login("bientap-dh")
    inbox = client.get("/bulletins/inbox").get_data(as_text=True)
    badge = re.search(r'id="nav-bulletins">[^<]*<span class="badge"[^>]*>(\d+)<', inbox)
    assert badge is not None and badge.group(1) == "1"  # waiting for Đắk Hà's decision
    assert f"/bulletins/inbox/{a}" in inbox and f"/bulletins/inbox/{b}" not in inbox
    assert client.get(f"/bulletins/inbox/{b}").status_code == 404
    assert client.get(f"/bulletins/{bulletin_id}").status_code == 404  # the sender's page
    for action, data in (("accept", {"slot": str(slot)}), ("decline", {"reason": "x"})):
        assert client.post(f"/bulletins/inbox/{b}/{action}", data=data).status_code == 404
    assert _state(db, b) == "inbox"
    page = client.get(f"/bulletins/inbox/{a}").get_data(as_text=True)
    assert "Nhận vào chương trình của xã" in page and "Buổi chiều" in page
    resp = client.post(f"/bulletins/inbox/{a}/accept", data={"slot": str(slot)})
    assert resp.status_code == 302
    assert _state(db, a) == "accepted"
    assert 'id="nav-bulletins">Tin cấp trên</a>' in client.get("/bulletins/").get_data(as_text=True)
    auth.logout()
    # Commune B's approver declines, with a reason (required).
    auth.login("pheduyet-dm")
    assert client.post(f"/bulletins/inbox/{b}/decline", data={"reason": ""}).status_code == 400
    resp = client.post(f"/bulletins/inbox/{b}/decline", data={"reason": "Trùng họp thôn"})
    assert resp.status_code == 302 and _state(db, b) == "declined"
    assert client.get(f"/bulletins/inbox/{a}").status_code == 404
    auth.logout()
    # The sender sees each commune: who, when, why, and when it airs.
    auth.login("canbo")
    page = client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    rows = dict(re.findall(r'data-commune="(\d+)">(.*?)</tr>', page, re.S))
    assert "Đã nhận phát" in rows["62001"] and "A Thị Hoa" in rows["62001"]
    assert "17:00" in rows["62001"] and "0 trên 3 cụm loa" in rows["62001"]
    assert "Không nhận" in rows["62002"] and "Trùng họp thôn" in rows["62002"]
    english = client.get(f"/bulletins/{bulletin_id}?lang=en").get_data(as_text=True)
    assert "Declined" in english and "In each commune" in english
    assert "Lịch tiêm phòng gia súc" in client.get("/bulletins/").get_data(as_text=True)


def test_priority_bulletin_is_placed_and_the_commune_may_reorder(
    auth: Auth, client: FlaskClient, db: sessionmaker[Session], slot: int
) -> None:
    bulletin_id = _write(auth, db, "priority", "Phòng chống dịch tả lợn")
    a = _delivery(db, bulletin_id, "62001")
    assert _state(db, a) == "placed"
    auth.login("pheduyet-dh")
    page = client.get(f"/bulletins/inbox/{a}").get_data(as_text=True)
    assert "tin của cấp trên phát trước" in page
    assert client.post(f"/bulletins/inbox/{a}/accept", data={"slot": str(slot)}).status_code == 409
    resp = client.post(f"/bulletins/inbox/{a}/order", data={"behind": "1"})
    assert resp.status_code == 302
    page = client.get(f"/bulletins/inbox/{a}").get_data(as_text=True)
    assert "các tin ưu tiên của xã phát trước" in page
    with db() as s:
        d = s.get(BulletinDelivery, a)
        assert d is not None and d.announcement is not None
        assert d.announcement.precedence == 2
        placed_in = bulletins.next_slot(s, d.received_at)  # type: ignore[arg-type]
        assert placed_in is not None and d.announcement.schedule[0].slot_id == placed_in.id


def test_emergency_bulletin_sends_the_command_on_approval(
    auth: Auth, db: sessionmaker[Session], sent: MemoryPublisher
) -> None:
    bulletin_id = _write(auth, db, "emergency", "Lũ quét")
    topics = {t for t, *_ in sent.sent}
    assert {t.rsplit("/", 2)[1] for t in topics} == {
        "thon-1",
        "thon-2",
        "thon-5",
        "dm-thon-3",
        "dm-kon-teo",
    }
    with db() as s:
        b = s.get(Bulletin, bulletin_id)
        assert b is not None and b.emergency is not None and b.emergency.command_id
    auth.login("canbo-dm")
    d = _delivery(db, bulletin_id, "62002")
    page = auth.client.get(f"/bulletins/inbox/{d}").get_data(as_text=True)
    assert "Đã phát ngay" in page


def test_commune_staff_cannot_write_or_approve_bulletins(
    auth: Auth, client: FlaskClient, db: sessionmaker[Session]
) -> None:
    auth.login("bientap-dh")
    page = client.get("/bulletins/new").get_data(as_text=True)
    assert "Tin được gửi từ tỉnh" in page
    resp = client.post(
        "/bulletins/new",
        data={"title": "x", "body": "y", "priority": "normal", "communes": ["1"]},
    )
    assert resp.status_code in (200, 403)
    with db() as s:
        assert s.scalar(select(Bulletin.id)) is None
