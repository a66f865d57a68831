"""Live to real agents without the browser: a WebM/Opus tone fed into a real Icecast through the
session's feed, a signed ``live`` command over a real Mosquitto, two real agent processes (file
player) whose WAVs hold the tone; stop ends both; a cut stream and a forged command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.broker import PrivateBroker
from broadcaster.commands import CommandPublisher
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from tests.agent.conftest import ServerClient
from tests.support.agents import AgentProcess, file_agent_config, wait_for
from tests.support.live_site import heard_seconds
from tests.support.tone import tone_seconds

from .conftest import TONE_HZ, open_session

SITES = ("cum-loa-t1", "dai-xa")


@pytest.fixture
def two_agents(
    broker: PrivateBroker, tmp_path: Path
) -> Iterator[tuple[ServerClient, list[AgentProcess], Signer]]:
    accounts = [broker.add_agent(site, ["thon-1"]) for site in SITES]
    broker.start()
    signer = Signer.generate()
    agents = []
    with ServerClient(broker, signer) as server:
        try:
            for account in accounts:
                base = tmp_path / account.site
                base.mkdir()
                agent = AgentProcess(file_agent_config(account, broker.port, signer, base), base)
                agent.start()
                agents.append(agent)
            for site in SITES:
                server.wait_online(site, 20)
            yield server, agents, signer
        finally:
            for agent in agents:
                code = agent.stop()
                print(agent.log()[-3000:])
                assert code == 0, "an agent did not exit cleanly"


def _events(server: ServerClient, item_id: str, kind: str) -> dict[str, dict[str, object]]:
    return {
        str(e["site"]): e
        for e in list(server.all_events)
        if e.get("item_id") == item_id and e["kind"] == kind
    }


def _wait_kind(server: ServerClient, item_id: str, kind: str, timeout: float = 20.0) -> dict:  # type: ignore[type-arg]
    return wait_for(
        lambda: (found := _events(server, item_id, kind)) and len(found) == len(SITES) and found,
        timeout,
        f"{kind} of {item_id} at every site",
    )


def test_live_tone_reaches_both_agents_and_stop_ends_both(
    two_agents: tuple[ServerClient, list[AgentProcess], Signer],
    icecast: PrivateIcecast,
    tone_webm: Path,
    tmp_path: Path,
) -> None:
    server, agents, signer = two_agents
    session = open_session(icecast, tmp_path / "feed")
    commands = CommandPublisher(signer, server, server.topics)
    sender = session.send(tone_webm.read_bytes(), 12.0)
    command = commands.live(zones=["thon-1"], live=session.live, reason="họp thôn")
    started = _wait_kind(server, session.live.item_id, "started")
    assert all(e["command"] == command.id for e in started.values())
    wait_for(lambda: all(heard_seconds(a) >= 3.0 for a in agents), 30, "3 s heard at each site")
    commands.stop(zones=["thon-1"], item_id=session.live.item_id, reason="hết")
    cut = _wait_kind(server, session.live.item_id, "interrupted")
    assert {e["detail"] for e in cut.values()} == {"stopped by command: hết"}
    sender.stop.set()
    session.feed.close()
    assert sender.error is None
    for agent in agents:
        wavs = agent.wavs()
        assert [w.name.split("_", 1)[1] for w in wavs] == [f"{session.live.item_id}.wav"]
        assert tone_seconds(wavs[0], TONE_HZ) >= 2.0
        assert "stream ended" not in agent.log()


def test_a_cut_stream_stops_the_agents_and_they_say_why(
    two_agents: tuple[ServerClient, list[AgentProcess], Signer],
    icecast: PrivateIcecast,
    tone_webm: Path,
    tmp_path: Path,
) -> None:
    server, agents, signer = two_agents
    session = open_session(icecast, tmp_path / "feed")
    commands = CommandPublisher(signer, server, server.topics)
    sender = session.send(tone_webm.read_bytes(), 12.0)
    commands.live(zones=["thon-1"], live=session.live)
    _wait_kind(server, session.live.item_id, "started")
    time.sleep(2)
    sender.stop.set()
    session.feed.cut()  # the announcer's connection is gone
    cut = _wait_kind(server, session.live.item_id, "interrupted")
    for event in cut.values():
        assert str(event["detail"]).startswith("live stream lost: live stream ended after")
    for agent in agents:
        assert "live stream lost" in agent.log()


def test_a_stalled_stream_stops_the_agents_and_they_say_why(
    two_agents: tuple[ServerClient, list[AgentProcess], Signer],
    icecast: PrivateIcecast,
    tone_webm: Path,
    tmp_path: Path,
) -> None:
    """The announcer's connection stays open but sends nothing: within the command's stall_s
    (3 s; or Icecast's source timeout, 3 s here) the agents stop and log it."""
    server, agents, signer = two_agents
    session = open_session(icecast, tmp_path / "feed", stall_s=3)
    commands = CommandPublisher(signer, server, server.topics)
    sender = session.send(tone_webm.read_bytes(), 12.0)
    commands.live(zones=["thon-1"], live=session.live)
    _wait_kind(server, session.live.item_id, "started")
    time.sleep(2)
    sender.stop.set()  # silence, with the feed still connected
    cut = _wait_kind(server, session.live.item_id, "interrupted")
    for event in cut.values():
        assert str(event["detail"]).startswith("live stream lost: "), event["detail"]
    session.feed.close()


def test_a_live_command_that_is_not_ours_is_rejected_and_nothing_plays(
    two_agents: tuple[ServerClient, list[AgentProcess], Signer],
    icecast: PrivateIcecast,
    tone_webm: Path,
    tmp_path: Path,
) -> None:
    server, agents, signer = two_agents
    session = open_session(icecast, tmp_path / "feed")
    sender = session.send(tone_webm.read_bytes(), 12.0)
    other = replace(session.live, url=f"{icecast.url}/elsewhere.ogg")
    # a command signed by a key no agent trusts
    CommandPublisher(Signer.generate(), server, server.topics).live(sites=[SITES[0]], live=other)
    # our own signed command, its URL changed on the way
    kept = MemoryPublisher()
    CommandPublisher(signer, kept, server.topics).live(sites=[SITES[1]], live=session.live)
    topic, data, _, _ = kept.sent[0]
    envelope = json.loads(data)
    envelope["payload"]["live"]["url"] = other.url
    server.publish(topic, json.dumps(envelope).encode())
    rejected = wait_for(
        lambda: (r := _events_of(server, "rejected")) and len(r) == 2 and r,
        15,
        "both rejections",
    )
    assert str(rejected[SITES[0]]["detail"]).startswith("unknown-key: command")
    assert str(rejected[SITES[1]]["detail"]).startswith("bad-signature: command")
    time.sleep(1)
    sender.stop.set()
    session.feed.close()
    assert not _events_of(server, "started") and not _events_of(server, "received")
    assert "/elsewhere.ogg" not in icecast.log()
    for agent in agents:
        assert agent.wavs() == []


def _events_of(server: ServerClient, kind: str) -> dict[str, dict[str, object]]:
    return {str(e["site"]): e for e in list(server.all_events) if e["kind"] == kind}
