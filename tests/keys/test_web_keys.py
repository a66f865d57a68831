"""The signing keys page (issue 13): the top unit's administrator sees the keys and the list
agents trust, rotates and retires after a confirm step (the CLI's own functions), and the
journal names who did it; nobody else reaches it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from flask.testing import FlaskClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts
from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.keys import KeyRing
from broadcaster.models import Site, Unit
from broadcaster.wire.signing import Signer, Verifier
from tests.web.conftest import Auth


def _retained_keys(broker: PrivateBroker) -> bytes:
    """The retained message on ``…/keys``, as a new subscriber gets it."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-keys-reader")
    client.username_pw_set(SERVER_USER, broker.server_password)

    def on_connect(c: mqtt.Client, *args: object) -> None:
        c.subscribe(broker.topics.keys(), qos=1)

    def on_message(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        got.append(msg.payload)
        done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", broker.server_port)
    client.loop_start()
    try:
        assert done.wait(10), "no retained keys message"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def test_rotate_and_retire_after_confirming(
    client: FlaskClient, auth: Auth, key_file: Path, started_broker: PrivateBroker
) -> None:
    auth.login("quantri")
    page = client.get("/keys/?lang=vi").get_data(as_text=True)
    ring = KeyRing(key_file)
    k1 = ring.active()
    assert k1.kid in page and "Đang dùng để ký" in page
    assert "Chưa có thay đổi nào về khóa." in page

    confirm = client.get("/keys/rotate?lang=vi").get_data(as_text=True)
    assert "Thay khóa ngay" in confirm and k1.kid in confirm
    assert ring.active().kid == k1.kid, "the confirm page changes nothing"

    resp = client.post("/keys/rotate?lang=vi", follow_redirects=True)
    text = resp.get_data(as_text=True)
    k2 = ring.active()
    assert k2.kid != k1.kid
    assert f"máy chủ nay ký bằng {k2.kid}" in text
    version, trusted = ring.trusted()
    assert {Signer.load(key_file).public_b64, k1.public_b64} == set(trusted)
    message = _retained_keys(started_broker)
    assert json.loads(message)["kid"] == k1.kid  # signed by the old key, which agents trust
    assert Verifier([k1.public_b64]).open(message)["version"] == version
    assert ring.journal()[0]["by"] == "quantri" and ring.journal()[0]["new"] == k2.kid
    page = client.get("/keys/?lang=vi").get_data(as_text=True)
    assert "Vẫn được tin cậy" in page and "quantri" in page

    confirm = client.get(f"/keys/retire?kid={k1.kid}&lang=vi").get_data(as_text=True)
    assert "Ngừng tin cậy khóa này" in confirm
    assert len(ring.trusted()[1]) == 2, "the confirm page changes nothing"
    resp = client.post("/keys/retire?lang=vi", data={"kid": k1.kid}, follow_redirects=True)
    assert f"Đã ngừng dùng khóa {k1.kid}" in resp.get_data(as_text=True)
    assert ring.trusted()[1] == [k2.public_b64]
    message = _retained_keys(started_broker)
    assert Verifier([k2.public_b64]).open(message)["keys"] == [k2.public_b64]
    assert [e["action"] for e in ring.journal()] == ["retire", "rotate"]
    assert "Đã ngừng dùng" in client.get("/keys/?lang=vi").get_data(as_text=True)


def test_the_active_key_cannot_be_retired(client: FlaskClient, auth: Auth, key_file: Path) -> None:
    auth.login("quantri")
    active = KeyRing(key_file).active()
    resp = client.post("/keys/retire?lang=vi", data={"kid": active.kid}, follow_redirects=True)
    assert "Chỉ có thể ngừng dùng khóa còn được tin cậy" in resp.get_data(as_text=True)
    assert KeyRing(key_file).journal() == []


def test_a_broker_that_is_down_changes_nothing(
    client: FlaskClient, auth: Auth, key_file: Path, started_broker: PrivateBroker
) -> None:
    auth.login("quantri")
    ring = KeyRing(key_file)
    k1 = ring.active()
    started_broker.stop()
    resp = client.post("/keys/rotate?lang=vi", follow_redirects=True)
    assert "Không gửi được danh sách tới máy chủ MQTT" in resp.get_data(as_text=True)
    assert ring.active().kid == k1.kid and ring.trusted()[0] == 0
    assert ring.journal() == []


def test_sites_behind_the_list_are_named(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], key_file: Path
) -> None:
    auth.login("quantri")
    client.post("/keys/rotate")
    version = KeyRing(key_file).trusted()[0]
    with db() as s, s.begin():
        sites = s.scalars(select(Site).order_by(Site.id)).all()
        for site in sites[1:]:
            site.keys_version = version
        behind = sites[0]
    page = client.get("/keys/?lang=vi").get_data(as_text=True)
    assert f"1 trong số {len(sites)} điểm loa chưa báo" in page
    assert behind.id in page


def test_only_the_top_units_administrator(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], key_file: Path
) -> None:
    for user in ("bientap", "pheduyet", "canbo"):
        auth.login(user)
        assert client.get("/keys/").status_code == 403
        assert client.post("/keys/rotate").status_code == 403
        auth.logout()
    with db() as s, s.begin():
        dh = s.scalars(select(Unit).where(Unit.code == "62001")).one()
        accounts.create_user(s, "quantri-dh", "quantri-dh-123", "admin", "QT Đắk Hà", dh)
    auth.login("quantri-dh", "quantri-dh-123")
    assert "/keys/" not in client.get("/users/").get_data(as_text=True)
    assert client.get("/keys/").status_code == 404
    assert client.post("/keys/rotate").status_code == 404
    assert not key_file.exists() or KeyRing(key_file).journal() == []


def test_a_rotation_needs_the_confirm_pages_token(
    client: FlaskClient, auth: Auth, key_file: Path
) -> None:
    auth.login("quantri")
    k1 = KeyRing(key_file).active()
    client.application.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/keys/rotate").status_code == 400
    assert KeyRing(key_file).active().kid == k1.kid and KeyRing(key_file).journal() == []
