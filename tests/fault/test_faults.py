"""Fault tests: brokers and agents killed, ingest down, hostile messages from a real MQTT client,
corrupt media. The server side is the real ingest on SQLite; agents are real subprocesses."""

from __future__ import annotations

import re
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.clock import FakeClock
from broadcaster.commands import CommandPublisher, play_now_item
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer

from .conftest import SITE, FaultRig, wait_for

pytestmark = pytest.mark.fault


def _mp3(tmp_path: Path, name: str, seconds: float, frequency: int = 440) -> Path:
    from tests.agent.conftest import make_mp3

    return make_mp3(tmp_path / name, seconds=seconds, frequency=frequency)


def _plan(version: int, items: list[tuple[str, float, object]], **kw: object):  # type: ignore[no-untyped-def]
    from tests.agent.conftest import make_plan

    return make_plan(version, items, **kw)  # type: ignore[arg-type]


def _late_ms(detail: str) -> int:
    match = re.match(r"late by (\d+) ms", detail)
    assert match, detail
    return int(match.group(1))


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_broker_killed_mid_plan_items_play_on_time_events_arrive_once(
    fault_rig: FaultRig, tmp_path: Path
) -> None:
    rig = fault_rig
    media = rig.media.add(_mp3(tmp_path, "half.mp3", 0.5))
    items = [(f"occ-{n}", 2.0 + 1.5 * n, media) for n in range(5)]
    rig.server.publish_plan(_plan(1, items))
    rig.agent.wait_log(f"fetched media {media.sha256}")
    rig.ingest.wait_kind("occ-0", "started")
    rig.broker.process.kill()  # type: ignore[union-attr]  # SIGKILL: no clean shutdown, no save
    rig.broker.process.wait()  # type: ignore[union-attr]
    rig.broker.process = None
    rig.agent.wait_log("disconnected from MQTT broker")
    rig.agent.wait_log("item occ-2 finished", timeout=10)  # occ-1 and occ-2 play offline
    rig.broker.start()
    for item_id, _, _ in items:
        rig.ingest.wait_kind(item_id, "finished", timeout=30)
    started = [e for e in rig.ingest.events() if e.kind == "started"]
    assert len(started) == 5
    assert all(_late_ms(e.detail) < 250 for e in started), [e.detail for e in started]
    rig.assert_exactly_once()
    assert rig.ingest.playbacks() == {f"occ-{n}": "finished" for n in range(5)}
    assert len(rig.agent.wavs()) == 5


def test_agent_sigkilled_during_playback_logs_the_cut_and_keeps_its_plan(
    fault_rig: FaultRig, tmp_path: Path
) -> None:
    rig = fault_rig
    long = rig.media.add(_mp3(tmp_path, "long.mp3", 6.0, 330))
    short = rig.media.add(_mp3(tmp_path, "short.mp3", 0.5, 660))
    rig.server.publish_plan(_plan(1, [("occ-long", 1.0, long), ("occ-after", 6.0, short)]))
    rig.ingest.wait_kind("occ-long", "started")
    # Kill only once the file player has written what the speaker "heard" (ffmpeg decodes the
    # whole item first; on a loaded machine that can take longer than any fixed sleep).
    deadline = time.monotonic() + 10
    while not any(p.name.endswith("_occ-long.wav") for p in rig.agent.wavs()):
        assert time.monotonic() < deadline, "the agent never started sounding occ-long"
        time.sleep(0.05)
    time.sleep(0.3)
    rig.agent.kill()  # SIGKILL in the middle of occ-long
    rig.agent.start()
    cut = rig.ingest.wait_kind("occ-long", "interrupted")
    assert cut.detail.startswith("agent restarted during playback")
    rig.ingest.wait_kind("occ-after", "finished", timeout=20)  # the plan survived the kill
    labels = sorted(p.name.split("_", 1)[1] for p in rig.agent.wavs())
    assert labels == ["occ-after.wav", "occ-long.wav"]  # the cut item is not played again
    rig.assert_exactly_once()
    assert rig.ingest.playbacks() == {"occ-long": "interrupted", "occ-after": "finished"}


def test_ingest_down_for_a_while_nothing_is_lost(fault_rig: FaultRig, tmp_path: Path) -> None:
    rig = fault_rig
    rig.ingest.stop()
    before = len(rig.ingest.events())
    media = rig.media.add(_mp3(tmp_path, "half.mp3", 0.3))
    rig.server.publish_plan(_plan(1, [(f"occ-{n}", 1.0 + 0.6 * n, media) for n in range(4)]))
    rig.agent.wait_log("item occ-3 finished", timeout=15)
    time.sleep(1.0)
    assert len(rig.ingest.events()) == before  # nobody is storing
    rig.ingest.start()
    for n in range(4):
        rig.ingest.wait_kind(f"occ-{n}", "finished", timeout=20)
    rig.assert_exactly_once()


def test_hostile_plans_and_commands_from_mosquitto_pub_are_rejected_and_nothing_plays(
    fault_rig: FaultRig, tmp_path: Path
) -> None:
    rig = fault_rig
    topics = rig.server.topics
    media = rig.media.add(_mp3(tmp_path, "a.mp3", 0.3))
    forger = Signer.generate()
    soon = [("occ-x", 1.0, media)]

    # plans
    rig.mosquitto_pub(topics.plan(SITE), forger.sign(_plan(11, soon).to_dict()), retain=True)
    rig.mosquitto_pub(
        topics.plan(SITE), rig.signer.sign(_plan(12, soon, site="cum-loa-khac").to_dict())
    )
    rig.mosquitto_pub(topics.plan(SITE), rig.signer.sign(_plan(13, soon, expires_in=-5).to_dict()))
    captured = rig.signer.sign(_plan(20, []).to_dict())
    rig.mosquitto_pub(topics.plan(SITE), captured, retain=True)
    rig.agent.wait_log("accepted plan v20")
    rig.mosquitto_pub(topics.plan(SITE), rig.signer.sign(_plan(21, []).to_dict()), retain=True)
    rig.agent.wait_log("accepted plan v21")
    rig.mosquitto_pub(topics.plan(SITE), captured, retain=True)  # replay of a captured plan

    # commands
    sent = MemoryPublisher()
    legit = CommandPublisher(rig.signer, sent, topics)
    forged = CommandPublisher(forger, sent, topics)
    stale = CommandPublisher(
        rig.signer, sent, topics, FakeClock(datetime.now(UTC) - timedelta(hours=2))
    )
    item = play_now_item(start=datetime.now(UTC), announcement_id=1, title="x", media=media)
    forged.play_now(
        sites=[SITE],
        item=play_now_item(start=datetime.now(UTC), announcement_id=1, title="x", media=media),
    )
    legit.play_now(
        sites=["cum-loa-khac"],
        item=play_now_item(start=datetime.now(UTC), announcement_id=1, title="y", media=media),
    )
    stale.play_now(
        sites=[SITE],
        item=play_now_item(start=datetime.now(UTC), announcement_id=1, title="z", media=media),
    )
    good_id = legit.play_now(sites=[SITE], item=item).id
    good_command = sent.sent[-1][1]
    for _, payload, _, _ in sent.sent:
        rig.mosquitto_pub(topics.site_cmd(SITE), payload)  # all on our site's topic
    rig.ingest.wait_kind(item.id, "finished")
    rig.mosquitto_pub(topics.site_cmd(SITE), good_command)  # replay of a real command: ignored

    def reasons() -> list[str]:
        return [e.detail.split(":")[0] for e in rig.ingest.events() if e.kind == "rejected"]

    expected = [
        "unknown-key",  # forged plan
        "wrong-site",
        "expired",
        "stale",  # replayed captured plan
        "unknown-key",  # forged command
        "wrong-target",
    ]
    wait_for(lambda: sorted(reasons()) == sorted(expected), 15, f"rejections, have {reasons()}")
    expired = [e for e in rig.ingest.events() if e.kind == "expired"]
    assert len(expired) == 1 and expired[0].item_id is not None  # the stale play-now
    time.sleep(1.5)  # past every refused item's start
    assert [p.name.split("_", 1)[1] for p in rig.agent.wavs()] == [f"{item.id}.wav"]
    log = rig.agent.log()
    for reason in ("unknown-key", "wrong-site", "expired", "stale", "wrong-target"):
        assert f"rejected ({reason})" in log
    assert f"command {good_id} came again" in log  # the replay: acted on once, no event
    assert "command expired" in log
    rig.assert_exactly_once()


def test_corrupt_or_truncated_media_is_not_played_and_is_fetched_again(
    fault_rig: FaultRig, tmp_path: Path
) -> None:
    rig = fault_rig
    source = _mp3(tmp_path, "tone.mp3", 1.0)
    media = rig.media.add(source)
    cached = Path(rig.agent.config.state_dir) / "media" / f"{media.sha256}.mp3"
    rig.server.publish_plan(_plan(1, [("occ-1", 2.5, media)]))
    rig.agent.wait_log(f"fetched media {media.sha256}")
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 3])  # truncated on the Pi's card
    rig.ingest.wait_kind("occ-1", "finished")
    log = rig.agent.log()
    assert "is corrupt; deleting it" in log
    assert log.count(f"fetched media {media.sha256}") == 2
    (wav,) = rig.agent.wavs()
    assert _wav_seconds(wav) > 0.9  # the whole, re-fetched file played

    # the card and the server's copy are both bad: nothing plays, the item fails
    cached.write_bytes(b"\x00" * len(data))
    served = rig.media.root / "media" / f"{media.sha256}.mp3"
    served.write_bytes(data[: len(data) // 2])
    rig.server.publish_plan(_plan(2, [("occ-2", 1.5, media)]))
    failed = rig.ingest.wait_kind("occ-2", "failed")
    assert "sha256 mismatch" in failed.detail
    assert len(rig.agent.wavs()) == 1

    # the server's copy is repaired: the next airing fetches it again and plays
    served.write_bytes(data)
    rig.server.publish_plan(_plan(3, [("occ-3", 2.0, media)]))
    rig.ingest.wait_kind("occ-3", "finished")
    assert len(rig.agent.wavs()) == 2
    rig.assert_exactly_once()
