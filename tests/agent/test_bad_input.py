"""Bad input from the network: each is refused, logged, plays nothing; the agent keeps running."""

from __future__ import annotations

import json
import time
from pathlib import Path

from broadcaster.wire.signing import Signer

from .conftest import SITE, AgentRig, make_plan

SETTLE_S = 1.5  # items in refused plans start after 0.5 s; wait past that before looking


def _assert_refused(rig: AgentRig, reason: str) -> None:
    rig.agent.wait_log(f"plan rejected ({reason})")
    rejected = rig.server.next_event(5, "rejected")
    assert rejected["detail"].startswith(reason)
    assert rejected["item_id"] is None
    time.sleep(SETTLE_S)
    assert rig.agent.wavs() == []
    assert rig.agent.running()


def test_forged_signature(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    forger = Signer.generate()
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)]), signer=forger)
    _assert_refused(rig, "unknown-key")


def test_forged_signature_claiming_the_trusted_key_id(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    forged = Signer.generate().sign(make_plan(1, [("occ-1", 0.5, media)]).to_dict())
    envelope = json.loads(forged)
    envelope["kid"] = rig.signer.kid
    rig.server.publish(rig.server.topics.plan(SITE), json.dumps(envelope).encode(), retain=True)
    _assert_refused(rig, "bad-signature")


def test_plan_for_another_site(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)], site="cum-loa-khac"))
    _assert_refused(rig, "wrong-site")


def test_expired_plan(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)], expires_in=-1))
    _assert_refused(rig, "expired")


def test_older_version_after_a_newer_one(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(5, []))
    rig.agent.wait_log("accepted plan v5")
    rig.server.publish_plan(make_plan(3, [("occ-1", 0.5, media)]))
    _assert_refused(rig, "stale")


def test_same_version_with_other_content(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(5, []))
    rig.agent.wait_log("accepted plan v5")
    rig.server.publish_plan(make_plan(5, [("occ-1", 0.5, media)]))
    _assert_refused(rig, "replayed")


def test_media_whose_hash_does_not_match(rig: AgentRig, tone_mp3: Path) -> None:
    media = rig.media.add(tone_mp3, as_sha="ab" * 32)
    rig.server.publish_plan(make_plan(1, [("occ-1", 1.0, media)]))
    failed = rig.server.next_event(10, "failed")
    assert failed["item_id"] == "occ-1"
    assert "sha256 mismatch" in failed["detail"]
    assert "sha256 mismatch" in rig.agent.log()
    assert rig.agent.wavs() == []
    assert not list((Path(rig.agent.config.state_dir) / "media").glob("*.mp3"))
    assert rig.agent.running()


def test_garbage_payload_then_a_valid_plan_still_plays(rig: AgentRig, tone_mp3: Path) -> None:
    topic = rig.server.topics.plan(SITE)
    rig.server.publish(topic, b"\xff\xfe garbage \x00")
    rig.agent.wait_log("malformed plan message ignored")
    rig.server.publish(topic, b'{"payload": {"v": 1}, "kid": "x", "sig": "y"}')
    rig.agent.wait_log("unknown-key")
    signed_wrong_schema = rig.signer.sign({"v": 1, "type": "plan", "site": SITE})
    rig.server.publish(topic, signed_wrong_schema)
    rig.agent.wait_log("plan ignored, wrong schema")
    assert rig.agent.running()
    for ack_garbage in (b"", b"[]", b"\x00"):
        rig.server.publish(rig.server.topics.ack(SITE), ack_garbage)
    rig.agent.wait_log("ack ignored")

    media = rig.media.add(tone_mp3)
    rig.server.publish_plan(make_plan(1, [("occ-1", 1.0, media)]))
    rig.server.next_event(10, "finished")
    assert len(rig.agent.wavs()) == 1
    assert "Traceback" not in rig.agent.log()
