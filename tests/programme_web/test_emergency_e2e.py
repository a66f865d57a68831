"""Emergency end to end: the web test client sends it; a real Mosquitto carries the signed
command; real agent subprocesses (file player) play it; ingest stores their events; the status
endpoint reaches "finished" at every site of the zone."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.keys import load_or_create_signer
from broadcaster.models import PlaybackEvent
from broadcaster.processes import IngestPart
from schedules.programme_import import import_demo
from tests.support.agents import AgentProcess, start_file_agents, wait_for, wait_online
from tests.web.conftest import PASSWORDS, FakeRenderer
from web import create_app

SITES = ("cum-loa-t1", "dai-xa")  # the sites of thon-1
HIDDEN = re.compile(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"')


@contextmanager
def served_app(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    broker: PrivateBroker,
    agents: dict[str, tuple[str, ...]],
) -> Iterator[tuple[Flask, Settings]]:
    """The app on a real HTTP port (agents fetch /media/ from it), wired to the broker, which
    gets an account for each of ``agents`` (site → its zones) and is started."""
    from werkzeug.serving import make_server

    with transaction(db) as session:
        import_demo(session)
    for site, zones in agents.items():
        broker.add_agent(site, zones)
    broker.start()
    settings = settings.replace(**broker.server_mqtt())
    app = create_app(settings, renderer=renderer, sessions=db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    svc = app.extensions["broadcaster"]
    svc.settings = settings.replace(public_url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, svc.settings
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        svc.close()  # stops the lazily made MQTT connection


@pytest.fixture
def web(
    settings: Settings, db: sessionmaker[Session], renderer: FakeRenderer, broker: PrivateBroker
) -> Iterator[tuple[Flask, Settings]]:
    with served_app(settings, db, renderer, broker, dict.fromkeys(SITES, ("thon-1",))) as served:
        yield served


def test_emergency_reaches_finished_at_every_site(
    web: tuple[Flask, Settings], broker: PrivateBroker, db: sessionmaker[Session], tmp_path: Path
) -> None:
    app, settings = web
    signer = load_or_create_signer(settings.signing_key_file)
    ingest = IngestPart(settings, SystemClock())  # real agent processes: the wall clock
    ingest.start()
    agents: list[AgentProcess] = []
    try:
        agents = start_file_agents(broker.agents, broker.port, signer, tmp_path)
        wait_online(db, SITES)

        client = app.test_client()
        client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
        confirm = client.post(
            "/emergency/",
            data={
                "zones": ["thon-1"],
                "source": "",
                "title": "Cảnh báo lũ quét",
                "text": "Nước sông đang lên nhanh. Bà con vùng trũng di chuyển lên chỗ cao ngay.",
                "reason": "Tin khẩn của Ban chỉ huy phòng chống thiên tai huyện",
            },
        )
        assert confirm.status_code == 200, confirm.text
        sent = client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.text)))
        assert sent.status_code == 302
        url = sent.headers["Location"] + "/status.json"

        def finished() -> bool:
            data = client.get(url).get_json()
            for s in data["sites"]:
                assert s["stage"] != "failed", s
            return data["done"]

        wait_for(finished, 30, "every site finished")
        final = client.get(url).get_json()
        assert {s["site"]: s["stage"] for s in final["sites"]} == dict.fromkeys(SITES, "finished")
        with db() as session:
            kinds = session.execute(
                select(PlaybackEvent.site_id, PlaybackEvent.kind)
                .where(PlaybackEvent.item_id == final["item_id"])
                .order_by(PlaybackEvent.site_id, PlaybackEvent.seq)
            ).all()
        for site in SITES:  # delivered (the command), playing, finished: in that order
            assert [k for s, k in kinds if s == site] == ["received", "started", "finished"]
        for agent in agents:
            wavs = agent.wavs()
            assert [w.name.split("_", 1)[1] for w in wavs] == [f"{final['item_id']}.wav"]
    finally:
        for agent in agents:
            code = agent.stop()
            if code != 0:
                print(agent.log())
        ingest.stop()
