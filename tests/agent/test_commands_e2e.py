"""Commands end to end: CommandPublisher → real Mosquitto (ACL) → agent subprocess → WAV files."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.agent.agent import Agent
from broadcaster.agent.config import AgentConfig
from broadcaster.broker import PrivateBroker
from broadcaster.clock import FakeClock
from broadcaster.commands import CommandPublisher, play_now_item
from broadcaster.wire.signing import Signer

from .conftest import SITE, AgentRig, MediaServer, ServerClient, make_mp3, make_plan


def test_zone_emergency_interrupts_the_plan_then_the_plan_resumes(
    rig: AgentRig, tmp_path: Path
) -> None:
    long = rig.media.add(make_mp3(tmp_path / "long.mp3", seconds=4.0, frequency=300))
    short = rig.media.add(make_mp3(tmp_path / "short.mp3", seconds=1.0, frequency=900))
    rig.server.publish_plan(make_plan(1, [("occ-a", 1.0, long), ("occ-b", 3.0, short)]))
    assert rig.server.next_event(10, "started")["item_id"] == "occ-a"

    commands = CommandPublisher(rig.signer, rig.server, rig.server.topics)
    siren = play_now_item(start=datetime.now(UTC), announcement_id=9, title="Khẩn cấp", media=short)
    command = commands.play_now(zones=["thon-1"], item=siren, reason="lũ")

    received = rig.server.next_event(10, "received")
    assert received["command"] == command.id and received["item_id"] == siren.id
    cut = rig.server.next_event(10, "interrupted")
    assert cut["item_id"] == "occ-a" and cut["detail"] == f"interrupted by emergency {siren.id}"
    started = rig.server.next_event(10, "started")
    assert started["item_id"] == siren.id and started["command"] == command.id
    assert rig.server.next_event(10, "finished")["item_id"] == siren.id
    resumed = rig.server.next_event(10, "started")
    assert resumed["item_id"] == "occ-b"  # due during the emergency: played late, within grace
    rig.server.next_event(10, "finished")
    names = sorted(w.name.split("_", 1)[1] for w in rig.agent.wavs())
    assert names == sorted(["occ-a.wav", f"{siren.id}.wav", "occ-b.wav"])


def test_command_for_another_zone_is_not_delivered_and_expired_is_reported(
    rig: AgentRig, tmp_path: Path
) -> None:
    media = rig.media.add(make_mp3(tmp_path / "a.mp3", seconds=0.5))
    commands = CommandPublisher(rig.signer, rig.server, rig.server.topics)
    commands.play_now(
        zones=["thon-2"],
        item=play_now_item(start=datetime.now(UTC), announcement_id=1, title="x", media=media),
    )
    past = CommandPublisher(
        rig.signer,
        rig.server,
        rig.server.topics,
        FakeClock(datetime.now(UTC) - timedelta(hours=1)),
    )
    old = play_now_item(start=datetime.now(UTC), announcement_id=1, title="x", media=media)
    past.play_now(sites=[SITE], item=old)
    expired = rig.server.next_event(10, "expired")
    assert expired["item_id"] == old.id
    rig.agent.wait_log("command expired")
    assert rig.agent.wavs() == []
    assert "received" not in rig.agent.log()


def test_one_zone_publish_reaches_every_site_of_the_zone_and_no_other(
    broker: PrivateBroker, media_server: MediaServer, tone_mp3: Path, tmp_path: Path
) -> None:
    zones = {"site-a": ["thon-1"], "site-b": ["thon-1", "thon-3"], "site-c": ["thon-2"]}
    accounts = {site: broker.add_agent(site, z) for site, z in zones.items()}
    broker.start()
    signer = Signer.generate()
    agents = {}
    for site, account in accounts.items():
        config = AgentConfig(
            site=site,
            zones=zones[site],
            state_dir=str(tmp_path / site),
            trusted_keys=[signer.public_b64],
            mqtt_port=broker.port,
            mqtt_username=account.username,
            mqtt_password=account.password,
            player="file",
            output_dir=str(tmp_path / site / "out"),
        )
        agents[site] = Agent(config)
    with ServerClient(broker, signer) as server:
        for agent in agents.values():
            agent.start()
        try:
            for site in agents:
                server.wait_online(site)
            media = media_server.add(tone_mp3)
            item = play_now_item(
                start=datetime.now(UTC), announcement_id=5, title="Cả thôn", media=media
            )
            sent: list[str] = []

            class Counting:
                def publish(self, topic: str, payload: bytes, **kw: object) -> None:
                    sent.append(topic)
                    server.publish(topic, payload)

            command = CommandPublisher(signer, Counting(), server.topics).play_now(
                zones=["thon-1"], item=item
            )
            assert sent == [server.topics.zone_cmd("thon-1")]  # one publish
            finished = set()
            while finished != {"site-a", "site-b"}:
                event = server.next_event(15, "finished")
                assert event["command"] == command.id
                finished.add(event["site"])
            time.sleep(0.5)
            assert not any(e["site"] == "site-c" for e in server.all_events)
        finally:
            for agent in agents.values():
                agent.stop()
