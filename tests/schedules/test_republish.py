"""Plans after a broker loss (issue 10, issue 12): the scheduler sees, on reconnecting, that the
broker lost its retained plans and republishes them all at once; `broadcaster plans republish`
does it by hand. A real Mosquitto; the agents' side is a paho client logged in as an agent."""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.cli import _Ctx, main
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.keys import following_signer
from broadcaster.models import Site, SitePlan, Unit, Zone
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.plans_mark import Check, PlansMark
from broadcaster.publish import PlanPublisher
from broadcaster.wire.topics import Topics
from schedules.runtime import SchedulerRuntime
from tests.support.agents import wait_for

SITES = ("dai-xa", "cum-loa-t1", "cum-loa-t2")  # in Xã Đắk Hà; "xa-khac" is elsewhere


class AgentView:
    """What an agent's MQTT login sees: the retained plan on its site's topic."""

    def __init__(self, broker: PrivateBroker, site: str) -> None:
        account = next(a for a in broker.agents if a.site == site)
        self.plans: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=account.username)
        self.client.username_pw_set(account.username, account.password)
        topic = broker.topics.plan(site)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = lambda c, u, m: self.plans.put(json.loads(m.payload)["payload"])
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def version(self, timeout: float) -> int | None:
        try:
            return int(self.plans.get(timeout=timeout)["version"])
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Scheduler:
    runtime: SchedulerRuntime
    link: Link

    def run_job_until(self, predicate: Any, timeout: float, what: str) -> None:
        """Run the publish job (APScheduler's every 3 s) until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.runtime._publish_job()
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")


def _scheduler(settings: Settings, db: sessionmaker[Session], clock: FakeClock) -> Scheduler:
    topics = Topics(settings.topic_root)
    link = Link(settings.mqtt_options(), unique_client_id("scheduler"))
    mark = PlansMark(link, topics)
    plans = PlanPublisher(
        following_signer(settings.signing_key_file), link, topics, timedelta(hours=48)
    )
    runtime = SchedulerRuntime(settings, db, plans, clock, mark=mark)
    assert link.start(wait=10)
    return Scheduler(runtime, link)


@pytest.fixture
def rig(
    broker: PrivateBroker, settings: Settings, db: sessionmaker[Session]
) -> Iterator[tuple[PrivateBroker, Settings]]:
    with db() as s, s.begin():
        province = Unit(kind="province", code="p", name="Tỉnh")
        dak_ha = Unit(kind="commune", code="a", name="Xã Đắk Hà", parent=province)
        other = Unit(kind="commune", code="b", name="Xã B", parent=province)
        zone = Zone(id="thon-1", name="Thôn 1", unit=dak_ha)
        s.add_all(Site(id=site, name=site, zones=[zone], unit=dak_ha) for site in SITES)
        s.add(
            Site(
                id="xa-khac", name="Xã khác", zones=[Zone(id="x", name="X", unit=other)], unit=other
            )
        )
    for site in SITES:
        broker.add_agent(site, ["thon-1"])
    yield broker, settings.replace(**broker.server_mqtt())


def _first_publish(scheduler: Scheduler, db: sessionmaker[Session]) -> dict[str, int]:
    """The first rounds of the job: every site gets a plan (the broker is new: its check may
    send them twice), then the mark says the broker holds them."""
    scheduler.run_job_until(
        lambda: scheduler.runtime.mark is not None and not scheduler.runtime.check_broker(),
        10,
        "the first plans and the broker's mark",
    )
    with db() as s:
        return {p.site_id: p.version for p in s.scalars(select(SitePlan))}


@pytest.mark.parametrize("persistence", [False, True], ids=["forgetful", "persistent"])
def test_after_a_broker_restart_plans_reach_agents_without_the_hourly_refresh(
    rig: tuple[PrivateBroker, Settings],
    db: sessionmaker[Session],
    clock: FakeClock,
    persistence: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, settings = rig
    broker.persistence = persistence
    broker.start()
    scheduler = _scheduler(settings, db, clock)
    try:
        first = _first_publish(scheduler, db)
        view = AgentView(broker, "cum-loa-t1")
        assert view.version(5) == first["cum-loa-t1"]
        view.close()
        if persistence:
            time.sleep(broker.autosave_s + 0.5)  # the broker has saved it
        caplog.clear()
        broker.restart()
        wait_for(scheduler.link.connected.is_set, 15, "the scheduler reconnected")
        view = AgentView(broker, "cum-loa-t1")
        try:
            if persistence:
                assert view.version(5) == first["cum-loa-t1"]  # kept by the broker
                with caplog.at_level(logging.INFO, logger="schedules.runtime"):
                    scheduler.run_job_until(
                        lambda: "the broker holds the retained plans" in caplog.text,
                        10,
                        "the scheduler's check after reconnecting",
                    )
                # its mark was there: the scheduler sent nothing again
                assert "lost retained plans" not in caplog.text
                assert view.version(0.3) is None
            else:
                assert view.version(0.5) is None  # the broker forgot every plan
                got: list[int | None] = []
                scheduler.run_job_until(
                    lambda: got.append(view.version(0.2)) or got[-1] is not None,
                    10,
                    "the plan republished to the agent",
                )
                assert got[-1] == first["cum-loa-t1"] + 1  # same clock: no hourly refresh
                assert "the broker has lost retained plans" in caplog.text
        finally:
            view.close()
    finally:
        scheduler.link.stop()


def test_a_check_says_lost_only_when_the_mark_is_missing_or_older() -> None:
    assert Check(None).lost(5) and Check(4).lost(5)
    assert not Check(5).lost(5) and not Check(None).lost(0)


def test_plans_republish_command_by_site_and_by_commune(
    rig: tuple[PrivateBroker, Settings], db: sessionmaker[Session], clock: FakeClock, tmp_path: Path
) -> None:
    broker, settings = rig
    broker.start()
    config = tmp_path / "server.toml"
    config.write_text(
        f'database_url = "{settings.database_url}"\n'
        f'signing_key_file = "{settings.signing_key_file}"\n'
        f"mqtt_port = {settings.mqtt_port}\n"
        f'mqtt_username = "{settings.mqtt_username}"\n'
        f'mqtt_password = "{settings.mqtt_password}"\n'
    )
    views = {site: AgentView(broker, site) for site in SITES}
    try:

        def run(*args: str) -> str:
            result = CliRunner().invoke(
                main,
                ["--config", str(config), "plans", "republish", *args],
                obj=_Ctx(str(config), clock),
            )
            assert result.exit_code == 0, result.output
            return result.output

        out = run("--site", "cum-loa-t2")
        assert "cum-loa-t2: plan v" in out and "republished 1 plans" in out
        assert views["cum-loa-t2"].version(5) is not None
        assert views["cum-loa-t1"].version(0.3) is None
        out = run("--commune", "Xã Đắk Hà")
        assert "republished 3 plans" in out and "xa-khac" not in out
        assert all(views[s].version(5) is not None for s in SITES)
        out = run()  # everything, again: versions move on
        assert "republished 4 plans" in out
        bad = CliRunner().invoke(
            main, ["--config", str(config), "plans", "republish", "--site", "nowhere"]
        )
        assert bad.exit_code != 0 and "unknown site nowhere" in bad.output
    finally:
        for view in views.values():
            view.close()
