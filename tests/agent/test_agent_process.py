"""A real agent subprocess against the real Mosquitto, writing what it plays to WAV files."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from broadcaster.wire.messages import Event

from .conftest import SITE, AgentRig, make_plan, wait_for


def test_plays_a_signed_plan_reports_events_and_clears_outbox_on_ack(
    rig: AgentRig, tone_mp3: Path
) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 3.0, media)]))
    rig.agent.wait_log("accepted plan v1")
    rig.agent.wait_log(f"fetched media {media.sha256}")  # prefetched well before start

    started = Event.from_dict(rig.server.next_event(10, "started"))
    assert started.site == SITE and started.item_id == "occ-1" and started.seq == 1
    assert started.detail.startswith("late by ")
    late_ms = int(started.detail.split()[2])
    assert late_ms < 1500, started.detail
    finished = Event.from_dict(rig.server.next_event(5, "finished"))
    assert finished.seq == 2 and finished.outbox == started.outbox

    (wav,) = rig.agent.wavs()
    assert wav.name.endswith("_occ-1.wav")
    with wave.open(str(wav)) as w:
        assert w.getnframes() > 0

    assert rig.agent.outbox()[0] == 2
    rig.server.publish_ack(started.outbox, finished.seq)
    rig.agent.wait_log("ack up to seq 2: 2 event(s) removed")
    assert rig.agent.outbox()[0] == 0
    assert rig.agent.running()


def test_unacked_events_are_sent_again_after_a_restart(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)]))
    first = rig.server.next_event(10, "finished")
    assert rig.agent.stop() == 0
    resent_before = sum(1 for e in rig.server.all_events if e["id"] == first["id"])
    rig.agent.start()
    wait_for(
        lambda: sum(1 for e in rig.server.all_events if e["id"] == first["id"]) > resent_before,
        10,
        "the unacked event to be re-sent",
    )
    # the retained plan comes back, but the played occurrence is not played again
    rig.agent.wait_log("re)sent")
    assert len(rig.agent.wavs()) == 1
    assert "plan rejected" not in rig.agent.log()


@pytest.mark.fault
def test_plays_through_a_broker_outage_and_delivers_events_after(
    rig: AgentRig, tone_mp3: Path
) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 2.0, media)]))
    rig.agent.wait_log(f"fetched media {media.sha256}")
    rig.broker.stop()
    rig.agent.wait_log("item occ-1 finished", timeout=10)  # played with the network down
    assert len(rig.agent.wavs()) == 1
    rig.broker.start()
    # The server's client reconnects by itself. The agent may flush its outbox before that
    # client has resubscribed (it can even get "finished" and miss "started"); whatever it
    # missed comes again after the agent's resend interval.
    for kind in ("started", "finished"):
        wait_for(
            lambda kind=kind: any(
                e["kind"] == kind and e["item_id"] == "occ-1" for e in rig.server.all_events
            ),
            30,
            f"{kind} of occ-1 at the server",
        )
