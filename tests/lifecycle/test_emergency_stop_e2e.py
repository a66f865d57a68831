"""Stop a running emergency end to end, as a person does it: in headless Chromium on a desktop
(1366×768) and a phone (390×844), the approver sends a minute-long emergency in two steps, real
agent processes (file player) start playing it over a private Mosquitto, the stop button sends
the signed stop command, and every site's state on the page becomes "stopped" without a reload
(issue 13)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.keys import load_or_create_signer
from broadcaster.processes import IngestPart
from tests.lifecycle.conftest import sqlite_copy
from tests.programme_web.test_emergency_e2e import served_app
from tests.support.agents import AgentProcess, start_file_agents, wait_for, wait_online
from tests.support.browser import VIEWPORTS, chromium_page, login, nav_click
from tests.web.conftest import PASSWORDS, FakeRenderer

pytestmark = pytest.mark.browser

SITES = ("cum-loa-t1", "dai-xa")  # the sites of thon-1


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


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_stopping_an_emergency_stops_the_real_agents(
    request: pytest.FixtureRequest,
    viewport: str,
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
            agents = start_file_agents(broker.agents, broker.port, signer, tmp_path)
            wait_online(db, SITES)
            client = _client(app)
            with chromium_page(request, viewport=VIEWPORTS[viewport], timeout_ms=30_000) as page:
                login(page, served.public_url, "pheduyet", PASSWORDS["pheduyet"])
                nav_click(page, "Phát khẩn cấp")
                page.get_by_label("Thôn 1", exact=True).check()
                page.get_by_label("Tiêu đề").fill("Cảnh báo lũ")
                page.get_by_label("Nội dung cần đọc").fill(
                    "Nước sông đang lên. Bà con vùng trũng di chuyển lên chỗ cao."
                )
                page.get_by_label("Lý do", exact=True).fill("Tin khẩn")
                page.get_by_role("button", name="Xem lại trước khi phát").click()  # step 1
                page.wait_for_load_state()
                page.get_by_role("button", name="Phát ngay").click()  # step 2
                page.wait_for_load_state()
                em_page = urlsplit(page.url).path
                assert em_page.startswith("/emergency/")

                def stages() -> dict[str, str]:
                    data = client.get(em_page + "/status.json").get_json()
                    return {s["site"]: s["stage"] for s in data["sites"]}

                wait_for(lambda: set(stages().values()) == {"playing"}, 30, "both sites playing")
                page.reload()
                page.get_by_label("Lý do dừng phát").fill("Tin sai")
                page.get_by_role("button", name="Dừng phát khẩn cấp").click()
                page.wait_for_load_state()
                expect(page.get_by_text("Đã gửi lệnh dừng.")).to_be_visible()
                expect(page.locator("#stopped")).to_contain_text("Tin sai")
                # the page follows each site without a reload until both say "stopped"
                for site in SITES:
                    expect(page.locator(f'tr[data-site="{site}"] .badge')).to_have_text(
                        "Đã dừng", timeout=30_000
                    )
                assert page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth + 1"
                )
                assert "stopped by command" not in page.locator("#progress").inner_text()
            final = client.get(em_page + "/status.json").get_json()
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
