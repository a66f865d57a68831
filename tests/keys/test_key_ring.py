"""The key ring's operations as the CLI and the web share them: states, the journal, and two
rotations at once (the ring's lock), with the published messages kept in a list."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcaster import keys
from broadcaster.keys import KeyRing, KeysPublishError
from broadcaster.wire.signing import Verifier

NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def test_states_and_journal_through_a_rotation_and_a_retirement(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "signing-key.pem")
    sent: list[bytes] = []
    k1 = ring.active()
    assert [(k.kid, k.state) for k in ring.keys()] == [(k1.kid, "active")]
    rotation = keys.rotate(ring, NOW, sent.append, by="quantri")
    k2 = rotation.new
    assert Verifier([k1.public_b64]).open(sent[0])["keys"] == [k1.public_b64, k2.public_b64]
    assert {(k.kid, k.state) for k in ring.keys()} == {(k2.kid, "active"), (k1.kid, "trusted")}
    keys.retire(ring, k1.kid, NOW, sent.append, by="quantri")
    assert Verifier([k2.public_b64]).open(sent[1])["keys"] == [k2.public_b64]
    assert {(k.kid, k.state) for k in ring.keys()} == {(k2.kid, "active"), (k1.kid, "retired")}
    keys.republish(ring, NOW, sent.append, by="cli:root")
    assert [(e["action"], e["by"]) for e in ring.journal()] == [
        ("publish", "cli:root"),
        ("retire", "quantri"),
        ("rotate", "quantri"),
    ]
    assert ring.journal()[2]["old"] == k1.kid and ring.journal()[2]["new"] == k2.kid


def test_a_failed_publish_leaves_a_next_key_that_the_next_rotation_uses(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "signing-key.pem")
    k1 = ring.active()

    def down(_payload: bytes) -> None:
        raise KeysPublishError("broker down")

    with pytest.raises(KeysPublishError):
        keys.rotate(ring, NOW, down, by="quantri")
    assert ring.active().kid == k1.kid and ring.journal() == []
    nxt = [k for k in ring.keys() if k.state == "next"]
    assert len(nxt) == 1
    rotation = keys.rotate(ring, NOW, lambda _p: None, by="quantri")
    assert rotation.new.kid == nxt[0].kid


def test_two_rotations_at_once_follow_each_other(tmp_path: Path) -> None:
    """Without the lock both would take the same next key and the same old key."""
    ring = KeyRing(tmp_path / "signing-key.pem")
    ring.active()
    sent: list[bytes] = []

    def slow(payload: bytes) -> None:
        time.sleep(0.3)  # a broker's round trip, so the two overlap
        sent.append(payload)

    done = []
    threads = [
        threading.Thread(
            target=lambda who=who: done.append(
                keys.rotate(KeyRing(ring.key_file), NOW, slow, by=who)
            )
        )
        for who in ("a", "b")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = sorted(done, key=lambda r: r.update.version)
    assert second.old.kid == first.new.kid
    assert ring.active().kid == second.new.kid
    version, trusted = ring.trusted()
    assert version == second.update.version and len(trusted) == 3
    assert len(ring.journal()) == 2
