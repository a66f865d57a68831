"""Emergency broadcast through the web: compose → confirm → send, recorded and commanded."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import SYSTEM_CLOCK  # these apps run on the system clock
from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Announcement, Emergency, PlaybackEvent
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.commands import Command
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from schedules.emergency import occurrence_id
from schedules.planner import materialize
from tests.web.conftest import FakeRenderer

from .conftest import AddFn, LoginFn

HIDDEN = re.compile(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"')
COMPOSE = {
    "zones": ["thon-1", "thon-2"],
    "source": "",
    "title": "Cảnh báo bão số 3",
    "text": "Bão số 3 sẽ đổ bộ trong đêm nay. Bà con không ra đồng, chằng chống nhà cửa.",
    "reason": "Công điện khẩn của huyện",
}


def _memory_commands(app: Flask) -> tuple[MemoryPublisher, Signer]:
    signer = Signer.generate()
    sent = MemoryPublisher()
    app.extensions["broadcaster"].command_publisher = CommandPublisher(
        signer, sent, Topics(app.extensions["broadcaster"].settings.topic_root)
    )
    return sent, signer


def test_two_steps_record_and_command(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
) -> None:
    sent, signer = _memory_commands(app)
    login("pheduyet")
    page = client.get("/emergency/")
    assert page.status_code == 200 and "Phát khẩn cấp" in page.text

    confirm = client.post("/emergency/", data=COMPOSE)
    assert confirm.status_code == 200, confirm.text
    assert "Xác nhận phát khẩn cấp" in confirm.text and "<audio" in confirm.text
    assert renderer.texts == [COMPOSE["text"]]
    assert "Cụm loa thôn 1 - ngã ba chợ" in confirm.text and "(3)" in confirm.text
    assert sent.sent == []  # nothing sent at step 1
    with db() as s:
        assert s.scalar(select(Emergency)) is None

    # step 2: the hidden fields the confirm page carries
    hidden = dict(HIDDEN.findall(confirm.text))
    assert hidden["zones"] == "thon-1,thon-2" and hidden["reason"] == COMPOSE["reason"]
    done = client.post("/emergency/send", data=hidden)
    assert done.status_code == 302
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        ann = em.announcement
        assert (ann.priority, ann.status, ann.approver_id) == (
            "emergency",
            "approved",
            em.sent_by_id,
        )
        assert sorted(z.id for z in ann.zones) == ["thon-1", "thon-2"]
        assert em.reason == COMPOSE["reason"] and em.delivery == "command" and em.command_id
        assert abs(ann.schedule[0].start_at - SYSTEM_CLOCK.now()) < timedelta(seconds=10)
        item_id = occurrence_id(em)
        # the scheduler's plan carries the same airing under the same id: it never plays twice
        plans = materialize(s, SYSTEM_CLOCK.now(), timedelta(hours=1), "http://x")
        assert [i.id for i in plans["cum-loa-t1"]] == [item_id]
        assert [i.id for i in plans["cum-loa-t2"]] == [item_id]
        em_id, command_id = em.id, em.command_id
    assert done.headers["Location"].endswith(f"/emergency/{em_id}")
    topics = sorted(t for t, *_ in sent.sent)
    assert topics == ["loa/v1/zones/thon-1/cmd", "loa/v1/zones/thon-2/cmd"]
    command = Command.from_dict(Verifier([signer.public_b64]).open(sent.sent[0][1]))
    assert command.id == command_id and command.action == "play"
    assert command.item is not None and command.item.id == item_id
    assert command.item.priority == "emergency" and command.reason == COMPOSE["reason"]

    # the live status: waiting → delivered → playing → finished, per site
    status = client.get(f"/emergency/{em_id}/status.json").get_json()
    assert status["item_id"] == item_id and not status["done"]
    assert {s["site"]: s["stage"] for s in status["sites"]} == {
        "cum-loa-t1": "waiting",
        "cum-loa-t2": "waiting",
        "dai-xa": "waiting",
    }
    _events(
        db,
        item_id,
        {
            "cum-loa-t1": ["received", "started", "finished"],
            "cum-loa-t2": ["received", "started"],
            "dai-xa": ["expired"],
        },
    )
    status = client.get(f"/emergency/{em_id}/status.json").get_json()
    assert {s["site"]: s["stage"] for s in status["sites"]} == {
        "cum-loa-t1": "finished",
        "cum-loa-t2": "playing",
        "dai-xa": "failed",
    }
    assert status["sites"][0]["label"] in ("Đã phát xong", "Đang phát", "Không phát được")
    page = client.get(f"/emergency/{em_id}")
    assert (
        page.status_code == 200 and "emergency.js" in page.text and COMPOSE["reason"] in page.text
    )


def _events(db: sessionmaker[Session], item_id: str, by_site: dict[str, list[str]]) -> None:
    now = SYSTEM_CLOCK.now()
    with transaction(db) as s:
        for site, kinds in by_site.items():
            for n, kind in enumerate(kinds, 1):
                s.add(
                    PlaybackEvent(
                        id=f"{site}-{n}",
                        site_id=site,
                        outbox="o",
                        seq=n,
                        kind=kind,
                        at=now + timedelta(seconds=n),
                        item_id=item_id,
                        detail="command expired" if kind == "expired" else "",
                    )
                )


def test_reason_and_role_are_required(
    app: Flask, client: FlaskClient, login: LoginFn, db: sessionmaker[Session]
) -> None:
    sent, _ = _memory_commands(app)
    login("bientap")
    assert client.get("/emergency/").status_code == 403
    login("pheduyet")
    resp = client.post("/emergency/", data={**COMPOSE, "reason": " "})
    assert resp.status_code == 200 and "Cần ghi lý do phát khẩn cấp." in resp.text
    resp = client.post("/emergency/", data={**COMPOSE, "text": "", "title": ""})
    assert "Hãy nhập nội dung, hoặc chọn một bản tin đã ghi âm." in resp.text
    resp = client.post(
        "/emergency/send",
        data={"zones": "thon-1", "source": "", "title": "x", "text": "y", "reason": ""},
    )
    assert resp.status_code == 302
    with db() as s:
        assert s.scalar(select(Emergency)) is None
    assert sent.sent == []


def test_replays_an_approved_announcement(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    add_approved: AddFn,
    renderer: FakeRenderer,
) -> None:
    sent, _ = _memory_commands(app)
    source = add_approved(SYSTEM_CLOCK.now() + timedelta(days=1), title="Thông báo lũ (ghi âm)")
    login("quantri")
    confirm = client.post(
        "/emergency/", data={**COMPOSE, "source": str(source.id), "title": "", "text": ""}
    )
    assert confirm.status_code == 200 and "Thông báo lũ (ghi âm)" in confirm.text
    assert renderer.texts == []  # its audio is used as it is
    hidden = {
        "zones": "thon-1",
        "source": str(source.id),
        "title": "",
        "text": "",
        "reason": "Lũ quét",
        "media": "",
    }
    assert client.post("/emergency/send", data=hidden).status_code == 302
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        original = s.get(Announcement, source.id)
        assert em.announcement.media_sha256 == original.media_sha256
        assert em.announcement.title == original.title
    assert [t for t, *_ in sent.sent] == ["loa/v1/zones/thon-1/cmd"]
