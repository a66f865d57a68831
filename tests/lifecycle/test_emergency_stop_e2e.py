"""Stop a running emergency end to end: the web test client sends a minute-long emergency, real
agent processes (file player) start playing it over a private Mosquitto, the stop button sends
the signed stop command, and every site's state on the page becomes "stopped" (issue 13)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.clock import Clock, SystemClock
from broadcaster.config import Settings
from broadcaster.keys import load_or_create_signer
from broadcaster.models import Site
from broadcaster.processes import IngestPart
from tests.lifecycle.conftest import sqlite_copy
from tests.programme_web.test_emergency_e2e import HIDDEN, served_app
from tests.support.agents import AgentProcess, file_agent_config, wait_for
from tests.web.conftest import PASSWORDS, FakeRenderer

SITES = ("cum-loa-t1", "dai-xa")  # the sites of thon-1


@pytest.fixture
def clock() -> Clock:
    return SystemClock()  # real agent processes play on the wall clock


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


def _minute_of_tone(tmp_path: Path) -> bytes:
    out = tmp_path / "minute.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"]
        + ["sine=frequency=440:duration=60", "-ac", "1", "-b:a", "32k", str(out)],
        check=True,
    )
    return out.read_bytes()


def test_stopping_an_emergency_stops_the_real_agents(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    broker: PrivateBroker,
    tmp_path: Path,
) -> None:
    renderer.data = _minute_of_tone(tmp_path)
    agents: list[AgentProcess] = []
    with served_app(settings, db, renderer, broker, dict.fromkeys(SITES, ("thon-1",))) as (
        app,
        served,
    ):
        ingest = IngestPart(served, SystemClock())
        ingest.start()
        try:
            signer = load_or_create_signer(served.signing_key_file)
            for account in broker.agents:
                base = tmp_path / "agents" / account.site
                base.mkdir(parents=True)
                agent = AgentProcess(file_agent_config(account, broker.port, signer, base), base)
                agent.start()
                agents.append(agent)

            def online() -> bool:
                with db() as s:
                    return all(s.get(Site, site).state == "online" for site in SITES)  # type: ignore[union-attr]

            wait_for(online, 20, "agents online")
            client = _client(app)
            confirm = client.post(
                "/emergency/",
                data={
                    "zones": ["thon-1"],
                    "source": "",
                    "title": "Cảnh báo lũ",
                    "text": "Nước sông đang lên. Bà con vùng trũng di chuyển lên chỗ cao.",
                    "reason": "Tin khẩn",
                },
            )
            sent = client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.text)))
            page = sent.headers["Location"]

            def stages() -> dict[str, str]:
                data = client.get(page + "/status.json").get_json()
                return {s["site"]: s["stage"] for s in data["sites"]}

            wait_for(lambda: set(stages().values()) == {"playing"}, 30, "both sites playing")
            em_id = int(page.rsplit("/", 1)[1])
            r = client.post(f"/emergency/{em_id}/stop", data={"reason": "Tin sai"})
            assert r.status_code == 302
            wait_for(lambda: set(stages().values()) == {"stopped"}, 30, "both sites stopped")
            final = client.get(page + "/status.json").get_json()
            assert final["stopped"] and final["done"]
            for agent in agents:
                assert "stop command" in agent.log()
        finally:
            for agent in agents:
                agent.stop()
            ingest.stop()


def _client(app: Flask):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
    return client
