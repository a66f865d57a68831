""" "Nghe thử" (issue 13): the draft as the form holds it, rendered by the app's renderer, its
audio served and its spoken form shown; refusals in Vietnamese; roles and scope respected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from audio.render import Rendered
from broadcaster.models import Announcement, LexiconEntry, Media, User
from schedules import preview
from schedules.workflow import WorkflowError
from tests.web.conftest import Auth, FakeRenderer
from web.listen import slots


def _listen(client: FlaskClient, body: str, **extra: object) -> tuple[int, dict]:
    data = {"body": body, "priority": "normal", "repeat": "2", "zones": ["thon-1"], **extra}
    resp = client.post("/listen?lang=vi", data=data)
    assert resp.mimetype == "application/json"
    return resp.status_code, resp.get_json()


def test_a_draft_with_numbers_is_rendered_and_its_spoken_form_given(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer, db: sessionmaker[Session]
) -> None:
    auth.login("bientap")
    status, data = _listen(client, "Sáng mai 7h30, mang 25 con bò ra nhà văn hóa thôn.")
    assert status == 200, data
    assert "hai mươi lăm con bò" in " ".join(data["spoken"])
    assert "bảy giờ ba mươi phút" in " ".join(data["spoken"])
    assert renderer.texts == ["Sáng mai 7h30, mang 25 con bò ra nhà văn hóa thôn."]
    with client.get(data["audio"]) as audio:
        assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
        assert audio.data == renderer.data
    with db() as s:  # a preview saves nothing
        assert s.scalar(select(func.count()).select_from(Announcement)) == 0
        assert s.scalar(select(func.count()).select_from(Media)) == 0


def test_text_with_nothing_to_say_is_refused_in_vietnamese(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    auth.login("bientap")
    status, data = _listen(client, "… !!! ---")
    assert status == 422
    assert data["error"] == "Nội dung không có gì để đọc: hãy viết thành lời."
    assert renderer.texts == []


def test_text_over_the_limit_is_refused_as_the_form_does(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    auth.login("bientap")
    status, data = _listen(client, "a" * 5001)
    assert status == 422
    assert "5001" in data["error"] and "5000" in data["error"]
    status, data = _listen(client, "   ")
    assert status == 422 and data["error"]
    assert renderer.texts == []


def test_the_speech_engine_failing_is_said_in_vietnamese(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    auth.login("bientap")
    renderer.fail = True
    status, data = _listen(client, "Họp thôn lúc 8 giờ.")
    assert status == 502
    assert "công cụ" in data["error"] or "giọng" in data["error"] or "âm thanh" in data["error"]


def test_an_approver_may_listen_an_officer_may_not(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    auth.login("pheduyet")
    assert _listen(client, "Họp thôn lúc 8 giờ.")[0] == 200
    auth.logout()
    auth.login("canbo")
    resp = client.post("/listen", data={"body": "Họp thôn lúc 8 giờ."})
    assert resp.status_code == 403
    assert len(renderer.texts) == 1


def test_a_zone_outside_the_users_units_is_unknown(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    auth.login("bientap")
    status, data = _listen(client, "Họp thôn lúc 8 giờ.", zones=["khong-co"])
    assert status == 422 and "khong-co" in data["error"]
    assert renderer.texts == []


def test_the_form_offers_listening(client: FlaskClient, auth: Auth) -> None:
    auth.login("bientap")
    page = client.get("/announcements/new?lang=vi").get_data(as_text=True)
    assert 'data-listen-url="/listen"' in page and "Nghe thử" in page
    assert "listen.js" in page


def test_busy_slots_answer_at_once(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer, tmp_path: Path
) -> None:
    """Every preview slot taken: the next preview is refused at once, nothing rendered."""
    auth.login("bientap")
    root = Path(client.application.extensions["broadcaster"].settings.render_cache_dir)
    with (
        slots.preview_slot(root / "preview-slots") as a,
        slots.preview_slot(root / "preview-slots") as b,
    ):
        assert a and b
        status, data = _listen(client, "Họp thôn lúc 8 giờ.")
    assert status == 429 and "thử lại" in data["error"]
    assert renderer.texts == []
    assert _listen(client, "Họp thôn lúc 8 giờ.")[0] == 200


def test_the_bulletin_form_offers_listening_too(
    client: FlaskClient, auth: Auth, renderer: FakeRenderer
) -> None:
    """A province editor writes bulletins; the preview posts the bulletin form as it is."""
    auth.login("bientap")
    page = client.get("/bulletins/new?lang=vi").get_data(as_text=True)
    assert 'data-listen-url="/listen"' in page and "listen.js" in page
    resp = client.post(
        "/listen", data={"body": "Từ ngày 1/7, phí 150.000đ.", "priority": "priority"}
    )
    assert resp.status_code == 200
    assert "một trăm năm mươi nghìn đồng" in " ".join(resp.get_json()["spoken"])


@dataclass
class _Said:
    """A renderer that records what it was asked (the sample MP3 stored as the result)."""

    inner: FakeRenderer
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, text: str, **kwargs: Any) -> Rendered:
        self.calls.append({"text": text, **kwargs})
        return self.inner(text, **kwargs)


def test_the_communes_voice_and_the_lexicon_as_now(
    app: Flask, db: sessionmaker[Session], renderer: FakeRenderer
) -> None:
    """The zones' commune speaks (else the user's own commune; the province: the default
    voice), with the admins' lexicon and the repeat asked for, as submitting renders."""
    said = _Said(renderer)
    with db() as s, s.begin():
        s.add(LexiconEntry(term="UBND", spoken="ủy ban nhân dân"))
    with db() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        province = preview.prepare(s, users["bientap"], text="Họp UBND.", zone_ids=["dm-thon-3"])
        own = preview.prepare(s, users["bientap-dh"], text="Họp UBND.", repeat=3)
        top = preview.prepare(s, users["bientap"], text="Họp UBND.", priority="emergency")
    assert (province.commune, own.commune, top.commune) == ("Xã Đắk Mar", "Xã Đắk Hà", None)
    assert (province.repeat, own.repeat, top.repeat) == (2, 3, 3)
    assert province.spoken == ["họp ủy ban nhân dân."]
    preview.render(province, said)
    assert said.calls == [
        {
            "text": "Họp UBND.",
            "repeat": 2,
            "lexicon": {"UBND": "ủy ban nhân dân"},
            "commune": "Xã Đắk Mar",
        }
    ]
    with db() as s:
        editor_dh = s.scalars(select(User).where(User.username == "bientap-dh")).one()
        with pytest.raises(WorkflowError) as refused:  # another commune's zone: unknown
            preview.prepare(s, editor_dh, text="Họp.", zone_ids=["dm-thon-3"])
        assert refused.value.code == "unknown-zones"
