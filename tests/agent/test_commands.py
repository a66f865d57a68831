"""Commands in-process: an Agent (no broker needed) fed the exact bytes CommandPublisher sends."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.agent import Agent
from broadcaster.agent.config import AgentConfig
from broadcaster.broker import free_port
from broadcaster.clock import FakeClock
from broadcaster.commands import CommandError, CommandPublisher, play_now_item
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.commands import Command
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Media, Plan, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

from .conftest import BlockingPlayer, wait_for

SITE = "cum-loa-t1"
TOPICS = Topics()


class FakeMixer:
    def __init__(self) -> None:
        self.volumes: list[int] = []

    def set(self, percent: int) -> None:
        self.volumes.append(percent)


class Rig:
    def __init__(self, tmp_path: Path, player: BlockingPlayer) -> None:
        self.signer = Signer.generate()
        self.sent = MemoryPublisher()
        self.player = player
        self.mixer = FakeMixer()
        self.config = AgentConfig(
            site=SITE,
            zones=["thon-1", "thon-2"],
            state_dir=str(tmp_path / "state"),
            trusted_keys=[self.signer.public_b64],
            mqtt_port=free_port(),  # nobody listens: the agent works offline
            player="file",
            output_dir=str(tmp_path / "out"),
        )
        self.agent = Agent(self.config, player=player, mixer=self.mixer)  # type: ignore[arg-type]
        self.commands = CommandPublisher(self.signer, self.sent, TOPICS)
        self.media_dir = tmp_path / "state" / "media"

    def media(self, content: bytes = b"audio") -> Media:
        """Media already in the cache (its URL is unreachable)."""
        sha = hashlib.sha256(content).hexdigest()
        self.media_dir.mkdir(parents=True, exist_ok=True)
        media = Media(sha, f"http://127.0.0.1:9/media/{sha}.mp3", len(content), 1000)
        (self.media_dir / f"{sha}.mp3").write_bytes(content)
        return media

    def deliver(self) -> list[str]:
        """Hand everything published so far to the agent, as the broker would."""
        topics = []
        for topic, payload, qos, retain in self.sent.sent:
            assert qos == 1 and not retain
            self.agent.handle_message(topic, payload)
            topics.append(topic)
        self.sent.sent.clear()
        return topics

    def events(self) -> list[Event]:
        return self.agent.store.pending_events()

    def kinds(self) -> list[tuple[str | None, str]]:
        return [(e.item_id, e.kind) for e in self.events()]

    def wait_kinds(self, expected: list[tuple[str | None, str]], timeout: float = 10) -> None:
        wait_for(
            lambda: self.kinds() == expected, timeout, f"events {expected}, have {self.kinds()}"
        )

    def plan(self, version: int, items: list[PlanItem]) -> None:
        now = datetime.now(UTC)
        plan = Plan(SITE, version, now, now + timedelta(hours=1), tuple(items))
        self.agent.handle_message(TOPICS.plan(SITE), self.signer.sign(plan.to_dict()))


def item(media: Media, item_id: str, in_s: float = 0.0, priority: str = "normal") -> PlanItem:
    return PlanItem(
        item_id, datetime.now(UTC) + timedelta(seconds=in_s), "Thông báo", 7, priority, media
    )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path, BlockingPlayer(0.3))
    r.agent.start()
    try:
        yield r
    finally:
        r.agent.stop()


def test_emergency_to_a_zone_plays_at_once_with_received_started_finished(rig: Rig) -> None:
    now_item = play_now_item(
        start=datetime.now(UTC), announcement_id=3, title="Bão", media=rig.media()
    )
    command = rig.commands.play_now(zones=["thon-1"], item=now_item, reason="bão số 3")
    assert rig.deliver() == [TOPICS.zone_cmd("thon-1")]
    rig.wait_kinds([(now_item.id, "received"), (now_item.id, "started"), (now_item.id, "finished")])
    events = rig.events()
    assert {e.command for e in events} == {command.id}
    assert "emergency item" in events[0].detail and "bão số 3" in events[0].detail
    assert events[1].late_ms is not None and events[1].late_ms < 2000
    assert rig.player.log == [(now_item.id, "finished")]


def test_one_command_through_two_of_our_zones_and_the_site_acts_once(rig: Rig) -> None:
    now_item = play_now_item(
        start=datetime.now(UTC), announcement_id=3, title="x", media=rig.media()
    )
    rig.commands.play_now(zones=["thon-1", "thon-2"], sites=[SITE], item=now_item)
    assert len(rig.deliver()) == 3
    rig.wait_kinds([(now_item.id, "received"), (now_item.id, "started"), (now_item.id, "finished")])
    assert len(rig.player.log) == 1


def test_command_for_other_targets_is_rejected_and_nothing_plays(rig: Rig) -> None:
    now_item = play_now_item(
        start=datetime.now(UTC), announcement_id=3, title="x", media=rig.media()
    )
    rig.commands.play_now(zones=["thon-9"], sites=["cum-loa-khac"], item=now_item)
    # delivered on our site topic (the target is signed; the topic is not)
    for _topic, payload, *_ in rig.sent.sent:
        rig.agent.handle_message(TOPICS.site_cmd(SITE), payload)
    rig.wait_kinds([(None, "rejected")] * 2)
    assert rig.events()[0].detail.startswith("wrong-target")
    assert rig.player.log == []


def test_replayed_command_and_a_seq_that_does_not_move_forward_are_rejected(rig: Rig) -> None:
    first = play_now_item(start=datetime.now(UTC), announcement_id=3, title="x", media=rig.media())
    command = rig.commands.play_now(sites=[SITE], item=first)
    ((topic, data, *_),) = rig.sent.sent
    rig.deliver()
    rig.wait_kinds([(first.id, "received"), (first.id, "started"), (first.id, "finished")])
    # the same signed bytes again (a re-send by the server, or a replay): acted on once, no
    # new event (the first ones are in the outbox), nothing plays twice
    rig.agent.handle_message(topic, data)
    rig.agent.handle_message(TOPICS.zone_cmd("thon-1"), data)
    threading.Event().wait(0.5)
    assert len(rig.events()) == 3 and len(rig.player.log) == 1

    # the same id with another payload (only the server's key could sign it): replayed
    other = Command(**{**command.__dict__, "reason": "changed"})
    rig.agent.handle_message(topic, rig.signer.sign(other.to_dict()))
    wait_for(lambda: len(rig.events()) == 4)
    replay = rig.events()[3]
    assert (replay.kind, replay.item_id) == ("rejected", None)
    assert replay.detail.startswith("replayed") and replay.command == command.id

    # a fresh command id whose seq is not above the last one accepted
    old = Command(
        id="2f1c7a52-3f5e-4a36-8c1e-6c8b9c0f0a11",
        seq=1,
        action="play",
        issued_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        sites=(SITE,),
        item=item(rig.media(), "now-old"),
    )
    rig.agent.handle_message(topic, rig.signer.sign(old.to_dict()))
    wait_for(lambda: len(rig.events()) == 5)
    assert rig.events()[4].kind == "rejected"
    assert "not above" in rig.events()[4].detail
    assert len(rig.player.log) == 1


def test_expired_command_never_plays_not_even_from_the_plan(rig: Rig) -> None:
    media = rig.media()
    late = CommandPublisher(
        rig.signer, rig.sent, TOPICS, FakeClock(datetime.now(UTC) - timedelta(minutes=20))
    )
    occurrence = item(media, "occ-9", in_s=1.0, priority="emergency")
    late.play_now(sites=[SITE], item=occurrence, ttl=timedelta(minutes=10))
    rig.deliver()
    rig.wait_kinds([("occ-9", "expired")])
    assert "expired" in rig.events()[0].detail
    rig.plan(1, [occurrence])
    threading.Event().wait(1.5)
    assert rig.player.log == []
    assert rig.kinds() == [("occ-9", "expired")]


def test_emergency_interrupts_the_plan_which_then_resumes(tmp_path: Path) -> None:
    r = Rig(tmp_path, BlockingPlayer(1.0))
    r.agent.start()
    try:
        media = r.media()
        r.plan(1, [item(media, "occ-a", 0.0), item(media, "occ-b", 0.5)])
        wait_for(r.player.playing.is_set, 5, "occ-a playing")
        em = play_now_item(
            start=datetime.now(UTC), announcement_id=4, title="Khẩn", media=r.media(b"siren")
        )
        command = r.commands.play_now(sites=[SITE], item=em)
        r.deliver()
        r.wait_kinds(
            [
                ("occ-a", "started"),
                (em.id, "received"),
                ("occ-a", "interrupted"),
                (em.id, "started"),
                (em.id, "finished"),
                ("occ-b", "started"),
                ("occ-b", "finished"),
            ],
            timeout=10,
        )
        interrupted = r.events()[2]
        assert interrupted.detail == f"interrupted by emergency {em.id}"
        assert interrupted.command == command.id
        assert r.player.log == [
            ("occ-a", "interrupted"),
            (em.id, "finished"),
            ("occ-b", "finished"),
        ]
    finally:
        r.agent.stop()


def test_priority_play_now_waits_for_the_current_item(tmp_path: Path) -> None:
    r = Rig(tmp_path, BlockingPlayer(0.6))
    r.agent.start()
    try:
        media = r.media()
        r.plan(1, [item(media, "occ-a", 0.0)])
        wait_for(r.player.playing.is_set, 5, "occ-a playing")
        pr = play_now_item(
            start=datetime.now(UTC), announcement_id=4, title="x", media=media, priority="priority"
        )
        r.commands.play_now(sites=[SITE], item=pr)
        r.deliver()
        wait_for(lambda: len(r.player.log) == 2, 5)
        assert r.player.log == [("occ-a", "finished"), (pr.id, "finished")]
    finally:
        r.agent.stop()


def test_play_now_of_a_plan_occurrence_plays_it_once(rig: Rig) -> None:
    media = rig.media()
    occurrence = item(media, "occ-7", in_s=1.5)
    rig.plan(1, [occurrence])
    rig.commands.play_now(sites=[SITE], item=occurrence)
    rig.deliver()
    rig.wait_kinds([("occ-7", "received"), ("occ-7", "started"), ("occ-7", "finished")])
    threading.Event().wait(2.0)  # past the occurrence's own start
    assert rig.player.log == [("occ-7", "finished")]
    # and a second play-now of it is acknowledged without an airing event
    rig.commands.play_now(sites=[SITE], item=occurrence)
    rig.deliver()
    wait_for(lambda: len(rig.events()) == 4)
    last = rig.events()[3]
    assert (last.kind, last.item_id) == ("received", None)
    assert "already handled" in last.detail
    assert len(rig.player.log) == 1


def test_stop_cuts_the_emergency_and_volume_and_ping_answer(tmp_path: Path) -> None:
    r = Rig(tmp_path, BlockingPlayer(5.0))
    r.agent.start()
    try:
        em = play_now_item(start=datetime.now(UTC), announcement_id=4, title="x", media=r.media())
        r.commands.play_now(zones=["thon-2"], item=em)
        r.deliver()
        wait_for(r.player.playing.is_set, 5, "emergency playing")
        stop = r.commands.stop(zones=["thon-2"], reason="nhầm")
        r.commands.set_volume(sites=[SITE], volume=35)
        ping = r.commands.ping(sites=[SITE])
        r.deliver()
        wait_for(lambda: len(r.events()) == 6, 5, "six events")
        kinds = [(e.kind, e.command) for e in r.events()]
        assert ("interrupted", stop.id) in kinds
        assert ("received", ping.id) in kinds
        cut = next(e for e in r.events() if e.kind == "interrupted")
        assert cut.detail == "stopped by command: nhầm" and cut.item_id == em.id
        assert r.agent.volume() == 35 and 35 in r.mixer.volumes
    finally:
        r.agent.stop()


def test_an_accepted_play_now_survives_a_restart(tmp_path: Path) -> None:
    r = Rig(tmp_path, BlockingPlayer(0.2))
    em = play_now_item(start=datetime.now(UTC), announcement_id=4, title="x", media=r.media())
    r.commands.play_now(sites=[SITE], item=em)
    r.agent.start()
    r.agent.runner.stop.set()  # the runner is "dead"
    r.agent.runner.join()
    r.deliver()
    wait_for(lambda: [e.kind for e in r.events()] == ["received"])
    r.agent.stop()
    again = Agent(r.config, player=r.player)  # type: ignore[arg-type]
    again.start()
    try:
        wait_for(lambda: [e.kind for e in again.store.pending_events()][-1] == "finished")
        assert r.player.log == [(em.id, "finished")]
    finally:
        again.stop()


def test_publisher_validates_and_seq_moves_forward() -> None:
    signer = Signer.generate()
    sent = MemoryPublisher()
    fixed = datetime(2026, 1, 1, tzinfo=UTC)
    pub = CommandPublisher(signer, sent, TOPICS, FakeClock(fixed))
    a = pub.ping(sites=[SITE])
    b = pub.ping(zones=["thon-1"])
    assert b.seq == a.seq + 1 == int(fixed.timestamp() * 1000) + 1
    with pytest.raises(CommandError):
        pub.ping()
    with pytest.raises(CommandError):
        pub.ping(sites=["Not A Slug"])
    with pytest.raises(CommandError):
        pub.stop(sites=[SITE], ttl=timedelta(days=2))
    envelope = json.loads(sent.sent[0][1])
    assert envelope["kid"] == signer.kid and envelope["payload"]["type"] == "command"
    assert Command.from_dict(envelope["payload"]) == a
