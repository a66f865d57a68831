"""Commands end to end: CommandPublisher → real Mosquitto (ACL) → agent subprocess → WAV files."""

from __future__ import annotations

from pathlib import Path

from broadcaster.commands import CommandPublisher, play_now_item

from .conftest import SITE, AgentRig, make_mp3, make_plan


def test_zone_emergency_interrupts_the_plan_then_the_plan_resumes(
    rig: AgentRig, tmp_path: Path
) -> None:
    long = rig.media.add(make_mp3(tmp_path / "long.mp3", seconds=4.0, frequency=300))
    short = rig.media.add(make_mp3(tmp_path / "short.mp3", seconds=1.0, frequency=900))
    rig.server.publish_plan(make_plan(1, [("occ-a", 1.0, long), ("occ-b", 3.0, short)]))
    assert rig.server.next_event(10, "started")["item_id"] == "occ-a"

    commands = CommandPublisher(rig.signer, rig.server, rig.server.topics)
    siren = play_now_item(announcement_id=9, title="Khẩn cấp", media=short)
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
    from datetime import UTC, datetime, timedelta

    media = rig.media.add(make_mp3(tmp_path / "a.mp3", seconds=0.5))
    commands = CommandPublisher(rig.signer, rig.server, rig.server.topics)
    commands.play_now(
        zones=["thon-2"], item=play_now_item(announcement_id=1, title="x", media=media)
    )
    past = CommandPublisher(
        rig.signer, rig.server, rig.server.topics, lambda: datetime.now(UTC) - timedelta(hours=1)
    )
    old = play_now_item(announcement_id=1, title="x", media=media)
    past.play_now(sites=[SITE], item=old)
    expired = rig.server.next_event(10, "expired")
    assert expired["item_id"] == old.id
    rig.agent.wait_log("command expired")
    assert rig.agent.wavs() == []
    assert "received" not in rig.agent.log()
