"""Issue 10: the emergency's audio is chosen by the server, never by a form field.

The attack: an approver previewed a harmless typed message, then sent the confirm form with a
forged ``media`` value (the audio of a rejected announcement). The log recorded the harmless
text while the rejected audio aired. Now the server airs what it rendered for that text.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import SYSTEM_CLOCK
from broadcaster.db import transaction
from broadcaster.models import Announcement, Emergency
from broadcaster.wire.commands import Command
from broadcaster.wire.signing import Verifier
from tests.web.conftest import FakeRenderer

from .conftest import AddFn, LoginFn
from .test_emergency import COMPOSE, HIDDEN, _memory_commands

HARMLESS = "Mời bà con dự họp thôn tối nay."


def _rejected_audio(db: sessionmaker[Session], add_approved: AddFn) -> str:
    ann = add_approved(SYSTEM_CLOCK.now() + timedelta(days=1), title="Bản tin bị từ chối")
    with transaction(db) as s:
        row = s.get(Announcement, ann.id)
        assert row is not None and row.media_sha256
        row.status = "rejected"
        return row.media_sha256


def _aired(app: Flask, sent: object, signer: object) -> str:
    """The media sha256 of the play-now command that went out."""
    command = Command.from_dict(Verifier([signer.public_b64]).open(sent.sent[0][1]))  # type: ignore[attr-defined]
    assert command.item is not None
    return command.item.media.sha256


def test_a_forged_media_field_is_ignored(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    add_approved: AddFn,
    renderer: FakeRenderer,
) -> None:
    sent, signer = _memory_commands(app)
    rejected = _rejected_audio(db, add_approved)
    login("pheduyet")
    confirm = client.post("/emergency/", data={**COMPOSE, "text": HARMLESS})
    assert confirm.status_code == 200
    hidden = dict(HIDDEN.findall(confirm.text))
    forged = {**hidden, "media": rejected}
    assert client.post("/emergency/send", data=forged).status_code == 302

    aired = _aired(app, sent, signer)
    assert aired != rejected
    assert "media" not in hidden  # the page carries no audio choice any more
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        # the log's row is the airing: its text and its audio are the ones that went out
        assert em.announcement.body == HARMLESS
        assert em.announcement.media_sha256 == aired
    assert renderer.texts == [HARMLESS]  # rendered once, at the preview; that audio aired


def test_a_text_changed_after_the_preview_is_rendered_again(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    add_approved: AddFn,
    renderer: FakeRenderer,
) -> None:
    """The preview's audio is used only for the very text previewed; another text (a forged
    hidden field) is rendered from that text, so the log and the air still agree."""
    sent, signer = _memory_commands(app)
    rejected = _rejected_audio(db, add_approved)
    login("pheduyet")
    confirm = client.post("/emergency/", data={**COMPOSE, "text": HARMLESS})
    hidden = dict(HIDDEN.findall(confirm.text))
    other = "Một nội dung khác, không được nghe thử."
    forged = {**hidden, "text": other, "media": rejected}
    assert client.post("/emergency/send", data=forged).status_code == 302
    assert renderer.texts == [HARMLESS, other]
    aired = _aired(app, sent, signer)
    with db() as s:
        em = s.scalars(select(Emergency)).one()
        assert em.announcement.body == other and em.announcement.media_sha256 == aired != rejected


def test_a_rejected_announcement_cannot_be_the_source(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    add_approved: AddFn,
) -> None:
    sent, _signer = _memory_commands(app)
    ann = add_approved(SYSTEM_CLOCK.now() + timedelta(days=1))
    with transaction(db) as s:
        row = s.get(Announcement, ann.id)
        assert row is not None
        row.status = "rejected"
    login("pheduyet")
    forged = {"zones": "thon-1", "source": str(ann.id), "title": "", "text": "", "reason": "x"}
    done = client.post("/emergency/send", data=forged)
    assert done.status_code == 302 and "/emergency/" in done.headers["Location"]
    assert sent.sent == []
    with db() as s:
        assert s.scalar(select(Emergency)) is None
