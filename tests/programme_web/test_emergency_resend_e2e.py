"""An emergency reaches sites that were down when it was sent (issue 10), with real parts: a
real Mosquitto, real agent processes, ingest, the web app, and the scheduler's delivery tracker.

- cum-loa-t1 is up: it confirms at once and is never sent the command again;
- cum-loa-t2 is down and the broker has no session for it (as after a stolen client id wiped
  it, or a broker that lost its state): only the re-send after it comes back reaches it;
- dai-xa is down with its persistent session: when it comes back it gets the original (on both
  of its zones) and the re-send, and plays once.

While the two are silent the emergency page shows them in red and an alert is open.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.alerts import EMERGENCY_SILENT
from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.keys import load_or_create_signer
from broadcaster.models import EmergencyDelivery, SiteAlert
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.processes import IngestPart
from broadcaster.publish import PlanPublisher
from broadcaster.wire.topics import Topics
from schedules.runtime import SchedulerRuntime
from tests.support.agents import AgentProcess, file_agent_config, wait_for, wait_online
from tests.web.conftest import PASSWORDS, FakeRenderer

from .test_emergency_e2e import HIDDEN, served_app

UP, NO_SESSION, SESSION = "cum-loa-t1", "cum-loa-t2", "dai-xa"
ZONES = {UP: ("thon-1",), NO_SESSION: ("thon-2",), SESSION: ("thon-1", "thon-2")}


def test_sites_down_at_send_time_get_the_emergency_again_and_play_it_once(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    broker: PrivateBroker,
    tmp_path: Path,
) -> None:
    with served_app(settings, db, renderer, broker, ZONES) as (app, settings):
        signer = load_or_create_signer(settings.signing_key_file)
        accounts = {a.site: a for a in broker.agents}
        agents = {}
        for site in ZONES:
            base = tmp_path / "agents" / site
            base.mkdir(parents=True)
            config = file_agent_config(accounts[site], broker.port, signer, base, ZONES[site])
            agents[site] = AgentProcess(config, base)
        ingest = IngestPart(settings, SystemClock())  # real agent processes: the wall clock
        ingest.start()
        link = Link(settings.mqtt_options(), unique_client_id("scheduler"))
        link.start(wait=10.0)
        topics = Topics(settings.topic_root)
        runtime = SchedulerRuntime(  # only its delivery tracker runs here: no plans go out
            settings.replace(emergency_resend_after_s=1.0),
            db,
            PlanPublisher(signer, link, topics, timedelta(hours=1)),
            SystemClock(),
        )
        tracker = runtime.deliveries
        assert tracker is not None

        try:
            agents[UP].start()
            agents[SESSION].start()
            wait_online(db, (UP, SESSION))
            assert agents[SESSION].stop() == 0  # down, its session kept by the broker

            client = app.test_client()
            client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
            confirm = client.post(
                "/emergency/",
                data={
                    "zones": ["thon-1", "thon-2"],
                    "source": "",
                    "title": "Cảnh báo lũ quét",
                    "text": "Nước sông đang lên nhanh. Bà con di chuyển lên chỗ cao ngay.",
                    "reason": "Tin khẩn của Ban chỉ huy phòng chống thiên tai huyện",
                },
            )
            assert confirm.status_code == 200, confirm.text
            sent = client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.text)))
            assert sent.status_code == 302
            page_url = sent.headers["Location"]

            def stages() -> dict[str, str]:
                data = client.get(page_url + "/status.json").get_json()
                return {s["site"]: s["stage"] for s in data["sites"]}

            wait_for(lambda: stages()[UP] == "finished", 20, f"{UP} finished")
            time.sleep(1.0)  # the others stay silent past emergency_resend_after_s
            done = tracker.run()
            assert sorted(site for _, site in done.resent) == [NO_SESSION, SESSION]
            assert stages() == {UP: "finished", NO_SESSION: "silent", SESSION: "silent"}
            page = client.get(page_url).text
            for site in (NO_SESSION, SESSION):
                row = page.split(f'data-site="{site}"')[1].split("</tr>")[0]
                assert 'class="row-silent"' in row and "Chưa xác nhận: đã gửi lại lệnh" in row
            with db() as s:
                alerts = s.scalars(
                    select(SiteAlert.site_id).where(
                        SiteAlert.kind == EMERGENCY_SILENT, SiteAlert.cleared_at.is_(None)
                    )
                ).all()
            assert sorted(alerts) == [NO_SESSION, SESSION]

            agents[NO_SESSION].start()
            agents[SESSION].start()

            def all_confirmed() -> bool:
                tracker.run()  # as the scheduler's job does, every emergency_check_interval_s
                with db() as s:
                    rows = s.scalars(select(EmergencyDelivery)).all()
                return all(r.confirmed_at is not None for r in rows)

            wait_for(all_confirmed, 30, "every site confirmed")
            wait_for(lambda: set(stages().values()) == {"finished"}, 20, "every site finished")
            item_id = client.get(page_url + "/status.json").get_json()["item_id"]
            for site, agent in agents.items():
                wavs = [w.name.split("_", 1)[1] for w in agent.wavs()]
                assert wavs == [f"{item_id}.wav"], (site, wavs)  # once each, copies or not
            assert f"came again on {topics.site_cmd(SESSION)}" in agents[SESSION].log()
            # the one that had no session got only the re-send, on its own topic
            assert f"plays now (on {topics.site_cmd(NO_SESSION)})" in agents[NO_SESSION].log()
            with db() as s:
                sends = {r.site_id: r.sends for r in s.scalars(select(EmergencyDelivery))}
                open_alerts = s.scalars(
                    select(SiteAlert).where(
                        SiteAlert.kind == EMERGENCY_SILENT, SiteAlert.cleared_at.is_(None)
                    )
                ).all()
            assert sends[UP] == 1 and sends[NO_SESSION] >= 3 and sends[SESSION] >= 2
            assert open_alerts == []
            assert "row-silent" not in client.get(page_url).text
        finally:
            for agent in agents.values():
                code = agent.stop()
                if code not in (0, None):
                    print(agent.log())
            link.stop()
            ingest.stop()
