"""Stopping a running emergency from its page, and the confirm step's warning about offline
target sites, through the web on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock
from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Emergency, PlaybackEvent, Site
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.commands import Command
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from schedules.emergency import occurrence_id
from schedules.planner import materialize
from tests.web.conftest import Auth

HIDDEN = re.compile(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"')
COMPOSE = {
    "zones": ["thon-1"],
    "source": "",
    "title": "Cảnh báo lũ",
    "text": "Nước sông đang lên. Bà con vùng trũng di chuyển lên chỗ cao.",
    "reason": "Tin khẩn của huyện",
}


def _memory_commands(app: Flask, clock: Clock) -> tuple[MemoryPublisher, Signer]:
    signer = Signer.generate()
    sent = MemoryPublisher()
    svc = app.extensions["broadcaster"]
    svc.command_publisher = CommandPublisher(signer, sent, Topics(svc.settings.topic_root), clock)
    return sent, signer


def _online(db: sessionmaker[Session], *sites: str) -> None:
    with transaction(db) as s:
        for site in s.scalars(select(Site)):
            site.state = "online" if site.id in sites else "offline"


def test_the_confirm_step_names_the_offline_target_sites(
    app: Flask, client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    _memory_commands(app, clock)
    _online(db, "cum-loa-t1")
    auth.login("pheduyet")
    page = client.post("/emergency/", data=COMPOSE).get_data(as_text=True)
    warning = re.search(r'id="offline-warning".*?</div>', page, re.S)
    assert warning, page
    assert "1 cụm loa đang mất kết nối" in warning[0]
    assert "Đài truyền thanh xã" in warning[0] and "Cụm loa thôn 1" not in warning[0]
    assert "trong vòng 10 phút" in warning[0]
    _online(db, "cum-loa-t1", "dai-xa")
    page = client.post("/emergency/", data=COMPOSE).get_data(as_text=True)
    assert 'id="offline-warning"' not in page


def test_stop_a_running_emergency(
    app: Flask, client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    sent, signer = _memory_commands(app, clock)
    auth.login("pheduyet")
    confirm = client.post("/emergency/", data=COMPOSE)
    r = client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.get_data(as_text=True))))
    status_url = r.headers["Location"]
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        em_id, item_id, ann_id = em.id, occurrence_id(em), em.announcement_id
    page = client.get(status_url).get_data(as_text=True)
    assert "Dừng phát khẩn cấp" in page

    r = client.post(f"/emergency/{em_id}/stop", data={"reason": ""})
    assert r.status_code == 400 and "Cần ghi lý do dừng phát." in r.get_data(as_text=True)
    assert [t for t, *_ in sent.sent if "cmd" in t] and len(sent.sent) == 1  # the play only

    # What the agents say when it stops: one was playing it, one still had it queued.
    with transaction(db) as s:
        for seq, (site, kind, detail) in enumerate(
            [
                ("cum-loa-t1", "interrupted", "stopped by command: Tin sai, đã có tin đính chính"),
                ("dai-xa", "skipped", "stopped by command: Tin sai before it played"),
            ],
            start=1,
        ):
            s.add(
                PlaybackEvent(
                    id=f"ev-{seq}",
                    site_id=site,
                    outbox="o",
                    seq=seq,
                    kind=kind,
                    at=clock.now() + timedelta(seconds=5),
                    item_id=item_id,
                    announcement_id=ann_id,
                    detail=detail,
                )
            )
    r = client.post(
        f"/emergency/{em_id}/stop",
        data={"reason": "Tin sai, đã có tin đính chính"},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert "Đã gửi lệnh dừng" in page and "Trần Văn Hùng (phê duyệt)" in page
    assert "Dừng phát khẩn cấp" not in page  # no second stop offered

    topic, data, qos, retain = sent.sent[-1]
    assert topic.endswith("/zones/thon-1/cmd") and qos == 1 and not retain
    payload = Verifier([signer.public_b64]).open(data)
    command = Command.from_dict(payload)
    assert (command.action, command.item_id) == ("stop", item_id)
    assert command.reason == "Tin sai, đã có tin đính chính"

    state = client.get(f"/emergency/{em_id}/status.json").get_json()
    assert state["stopped"] is True and state["done"] is True
    assert {s["site"]: s["stage"] for s in state["sites"]} == {
        "cum-loa-t1": "stopped",
        "dai-xa": "stopped",
    }
    assert all(s["label"] == "Đã dừng" for s in state["sites"])
    with db() as s:
        em = s.get(Emergency, em_id)
        assert em is not None and em.stop_command_id == command.id
        assert em.announcement.status == "cancelled"
        plans = materialize(s, clock.now(), timedelta(hours=1), "http://server")
    assert not [i for items in plans.values() for i in items if i.id == item_id]

    r = client.post(f"/emergency/{em_id}/stop", data={"reason": "lần nữa"}, follow_redirects=True)
    assert "Bản tin khẩn cấp này đã được dừng." in r.get_data(as_text=True)
    assert len([t for t, *_ in sent.sent]) == 2  # no second stop command


def test_an_officer_cannot_stop_an_emergency(
    app: Flask, client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    sent, _signer = _memory_commands(app, clock)
    auth.login("pheduyet")
    confirm = client.post("/emergency/", data=COMPOSE)
    client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.get_data(as_text=True))))
    auth.logout()
    auth.login("canbo")
    with db() as s:
        em_id = s.scalars(select(Emergency.id)).one()
    page = client.get(f"/emergency/{em_id}").get_data(as_text=True)
    assert "Dừng phát khẩn cấp" not in page
    assert client.post(f"/emergency/{em_id}/stop", data={"reason": "x"}).status_code == 403
    assert len(sent.sent) == 1
