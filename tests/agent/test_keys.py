"""Key rotation end to end: `broadcaster keys rotate/retire` → retained keys list → a real agent
subprocess learns the new key without any change on the Pi."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from broadcaster.agent.agent import Agent
from broadcaster.agent.config import AgentConfig
from broadcaster.broker import SERVER_USER, PrivateBroker, free_port
from broadcaster.cli import main
from broadcaster.keys import FollowingSigner, KeyRing
from broadcaster.wire.commands import KeysUpdate
from broadcaster.wire.signing import Signer, key_id
from broadcaster.wire.topics import Topics

from .conftest import SITE, AgentRig, make_plan, wait_for


def _server_config(tmp_path: Path, broker: PrivateBroker, key_file: Path) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\n'
        f'signing_key_file = "{key_file}"\n'
        f"mqtt_port = {broker.server_port}\n"
        f'mqtt_username = "{SERVER_USER}"\n'
        f'mqtt_password = "{broker.server_password}"\n'
    )
    return path


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(config), "keys", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_rotate_then_retire_with_a_live_and_an_offline_agent(
    rig: AgentRig, tmp_path: Path, tone_mp3: Path
) -> None:
    key_file = tmp_path / "keys" / "signing-key.pem"
    rig.signer.save(key_file)  # K1: the key the agent was provisioned with
    config = _server_config(tmp_path, rig.broker, key_file)
    k1 = rig.signer
    media = rig.media.add(tone_mp3)

    out = _cli(config, "rotate")
    assert f"signed by {k1.kid}" in out
    k2 = Signer.load(key_file)
    assert k2.kid != k1.kid
    learnt = rig.server.next_event(10, "received")
    assert k2.kid in learnt["detail"] and k1.kid in learnt["detail"]
    rig.agent.wait_log("trusted keys updated")
    assert KeyRing(key_file).journal()[0]["by"].startswith("cli")  # the web page lists it

    # plans signed by the new key play; the old key is still trusted during the transition
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)]), signer=k2)
    assert rig.server.next_event(10, "finished")["item_id"] == "occ-1"
    rig.server.publish_plan(make_plan(2, []), signer=k1)
    rig.agent.wait_log("accepted plan v2")

    # retire K1: a plan it signs is now refused
    _cli(config, "retire", k1.kid)
    wait_for(lambda: rig.agent.log().count("trusted keys updated") == 2, 10, "second update")
    rig.server.publish_plan(make_plan(3, [("occ-3", 0.5, media)]), signer=k1)
    assert rig.server.next_event(10, "rejected")["detail"].startswith("unknown-key")

    # an agent that is offline during a rotation catches up on reconnect
    assert rig.agent.stop() == 0
    _cli(config, "rotate")
    k3 = Signer.load(key_file)
    rig.server.publish_plan(make_plan(4, [("occ-4", 2.0, media)]), signer=k3)
    rig.agent.start()
    started = rig.server.next_event(15, "started")
    assert started["item_id"] == "occ-4"
    assert "unknown-key" not in rig.agent.log().split("signal")[-1]  # the restarted run
    ring = KeyRing(key_file)
    assert {k["kid"] for k in ring.describe()["keys"]} == {k2.kid, k3.kid}
    wait_for(
        lambda: any(s.get("keys_version") == ring.trusted()[0] for s in rig.server.statuses),
        10,
        "the agent to report the new keys version",
    )


def test_following_signer_signs_with_the_rotated_key(tmp_path: Path) -> None:
    key_file = tmp_path / "signing-key.pem"
    first = Signer.generate()
    first.save(key_file)
    signer = FollowingSigner(key_file)
    assert signer.kid == first.kid
    ring = KeyRing(key_file)
    rotation = ring.begin_rotation(datetime.now(UTC))
    ring.finish_rotation(rotation)
    assert signer.kid == rotation.new.kid
    envelope = json.loads(signer.sign({"v": 1}))
    assert envelope["kid"] == rotation.new.kid
    # the list was signed by the old key and holds both
    update = KeysUpdate.from_dict(json.loads(rotation.message)["payload"])
    assert {key_id(k) for k in update.keys} == {first.kid, rotation.new.kid}
    assert json.loads(rotation.message)["kid"] == first.kid


def test_a_plan_signed_by_a_new_key_is_held_until_the_keys_list_arrives(
    tmp_path: Path,
) -> None:
    old, new = Signer.generate(), Signer.generate()
    config = AgentConfig(
        site=SITE,
        state_dir=str(tmp_path / "state"),
        trusted_keys=[old.public_b64],
        mqtt_port=free_port(),
        player="file",
        output_dir=str(tmp_path / "out"),
    )
    agent = Agent(config)
    agent.start()
    try:
        topics = Topics()
        agent.handle_message(topics.plan(SITE), new.sign(make_plan(7, []).to_dict()))
        assert agent.store.plan_version() == 0
        now = datetime.now(UTC)
        update = KeysUpdate(
            1, now, now.replace(year=now.year + 1), (old.public_b64, new.public_b64)
        )
        agent.handle_message(topics.keys(), old.sign(update.to_dict()))
        assert agent.store.plan_version() == 7  # the held plan was retried and accepted
        assert agent.keys_version == 1
        # the same list again (retained, on reconnect) is silent; an older one is stale
        before = len(agent.store.pending_events())
        agent.handle_message(topics.keys(), old.sign(update.to_dict()))
        assert len(agent.store.pending_events()) == before
    finally:
        agent.stop()
    # the learnt list survives a restart and replaces the config's
    again = Agent(config)
    again.start()
    try:
        assert again.keys_version == 1
        assert again.parts.trust.verifier.open(new.sign({"x": 1})) == {"x": 1}
    finally:
        again.stop()
