"""A stolen Pi speaks only for itself on the broker (issue 10): with agent A's password, real
clients (mosquitto_sub, paho) asking for site B's client id neither kick B nor wipe its
persistent session; an emergency sent meanwhile airs at B. The agents' listener gives every
client its username as client id (``use_username_as_clientid``)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcaster.commands import CommandPublisher, play_now_item
from broadcaster.publisher import MemoryPublisher

from .conftest import SITE, FaultRig

pytestmark = pytest.mark.fault

THIEF = "cum-loa-a"  # the site whose Pi was stolen


def _as_b_with_a_password(rig: FaultRig, password: str, *, clean: bool) -> None:
    """mosquitto_sub asking for B's client id, logged in as A; it stays 1 s."""
    tool = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
    cmd = [tool, "-h", "127.0.0.1", "-p", str(rig.broker.port), "-i", f"agent-{SITE}"]
    cmd += ["-u", f"agent-{THIEF}", "-P", password, "-t", f"loa/v1/sites/{SITE}/cmd", "-W", "1"]
    if not clean:
        cmd += ["-c", "-q", "1"]  # a persistent session, like the agent's
    subprocess.run(cmd, capture_output=True, timeout=10, check=False)


def _paho_as_b(rig: FaultRig, password: str) -> mqtt.ReasonCode | None:
    """paho, MQTT 5, clean start (which would wipe B's session were the id B's)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"agent-{SITE}", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(f"agent-{THIEF}", password)
    codes: list[mqtt.ReasonCode] = []
    client.on_connect = lambda c, u, f, rc, p: codes.append(rc)
    client.connect("127.0.0.1", rig.broker.port, clean_start=True)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    return codes[0] if codes else None


def _emergency(rig: FaultRig, media: object, title: str) -> str:
    sent = MemoryPublisher()
    item = play_now_item(
        start=datetime.now(UTC),
        announcement_id=1,
        title=title,
        media=media,  # type: ignore[arg-type]
    )
    CommandPublisher(rig.signer, sent, rig.broker.topics).play_now(sites=[SITE], item=item)
    rig.mosquitto_pub(rig.broker.topics.site_cmd(SITE), sent.sent[-1][1])
    return item.id


def test_a_stolen_password_cannot_kick_another_site_or_wipe_its_session(
    fault_rig: FaultRig, tmp_path: Path
) -> None:
    from tests.agent.conftest import make_mp3

    rig = fault_rig
    thief = rig.broker.add_agent(THIEF, ["thon-2"])
    rig.broker.reload()
    media = rig.media.add(make_mp3(tmp_path / "alarm.mp3", seconds=0.5))
    connects = rig.agent.log().count("connected to MQTT broker")

    # B online: A's password asking for B's id, again and again, both kinds of session.
    for n in range(4):
        _as_b_with_a_password(rig, thief.password, clean=bool(n % 2))
    rc = _paho_as_b(rig, thief.password)
    assert rc is not None and not rc.is_failure  # it is let in, as A
    assert "disconnected from MQTT broker" not in rig.agent.log()
    assert rig.agent.log().count("connected to MQTT broker") == connects
    airing = _emergency(rig, media, "Báo động lũ")
    rig.ingest.wait_kind(airing, "finished")

    # B away: its persistent session keeps what is sent to it, whatever A's password does.
    rig.agent.stop()
    _as_b_with_a_password(rig, thief.password, clean=True)
    _paho_as_b(rig, thief.password)
    queued = _emergency(rig, media, "Báo động lần hai")
    rig.agent.start()  # the same Pi back: the command waited in its session
    rig.ingest.wait_kind(queued, "finished", timeout=30)
