"""The wire protocol: canonical JSON, signatures, message validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.wire.canonical import canonical_json
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.plan import Media, Plan, PlanItem
from broadcaster.wire.signing import Signer, Verifier

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SHA = "a" * 64


def make_plan(site: str = "cum-loa-t1", version: int = 5) -> Plan:
    item = PlanItem(
        id="s1-1795400000",
        start=NOW + timedelta(minutes=1),
        title="Tiêm chủng mở rộng",
        announcement_id=1,
        priority="normal",
        media=Media(sha256=SHA, url=f"http://x/media/{SHA}.mp3", size=100, duration_ms=5000),
    )
    return Plan(site, version, NOW, NOW + timedelta(hours=48), (item,))


def test_canonical_json_is_order_independent_and_utf8() -> None:
    assert canonical_json({"b": 1, "a": "Thôn"}) == canonical_json({"a": "Thôn", "b": 1})
    assert "Thôn".encode() in canonical_json({"a": "Thôn"})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_plan_round_trips_through_a_signed_envelope() -> None:
    signer = Signer.generate()
    plan = make_plan()
    payload = Verifier([signer.public_b64]).open(signer.sign(plan.to_dict()))
    assert Plan.from_dict(payload) == plan


def test_forged_signature_is_refused() -> None:
    real, forger = Signer.generate(), Signer.generate()
    data = forger.sign(make_plan().to_dict())
    with pytest.raises(ProtocolError) as exc:
        Verifier([real.public_b64]).open(data)
    assert exc.value.reason == "unknown-key"


def test_tampered_payload_is_refused() -> None:
    signer = Signer.generate()
    envelope = json.loads(signer.sign(make_plan().to_dict()))
    envelope["payload"]["site"] = "cum-loa-t2"
    with pytest.raises(ProtocolError) as exc:
        Verifier([signer.public_b64]).open(json.dumps(envelope).encode())
    assert exc.value.reason == "bad-signature"


def test_rotated_keys_both_verify() -> None:
    old, new = Signer.generate(), Signer.generate()
    verifier = Verifier([old.public_b64, new.public_b64])
    for s in (old, new):
        assert verifier.open(s.sign({"x": 1})) == {"x": 1}


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe", b"[1,2]", b'{"payload": 1, "kid": "x", "sig": "y"}', b"null"],
)
def test_garbage_envelopes_raise_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        Verifier([Signer.generate().public_b64]).open(data)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(v=2),
        lambda d: d.update(type="event"),
        lambda d: d.update(version="5"),
        lambda d: d["items"][0].update(start="yesterday"),
        lambda d: d["items"][0].update(start="2026-11-23T01:00:00"),
        lambda d: d["items"][0]["media"].update(sha256="../../etc/passwd"),
        lambda d: d["items"][0]["media"].update(url="file:///etc/passwd"),
        lambda d: d["items"][0].update(priority="siren"),
        lambda d: d.pop("items"),
    ],
)
def test_malformed_plans_raise_protocol_error(mutate) -> None:
    d = make_plan().to_dict()
    mutate(d)
    with pytest.raises(ProtocolError):
        Plan.from_dict(d)


def test_event_ack_status_round_trip() -> None:
    e = Event("u1", "cum-loa-t1", "ob1", 3, "started", NOW, "s1-1", 1, NOW, "late 12 ms")
    assert Event.from_dict(json.loads(json.dumps(e.to_dict()))) == e
    a = Ack("cum-loa-t1", "ob1", 3, NOW)
    assert Ack.from_dict(a.to_dict()) == a
    s = Status("cum-loa-t1", "online", NOW, 7, "0.1.0")
    assert Status.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(kind="exploded"),
        lambda d: d.update(seq=0),
        lambda d: d.update(seq=True),
        lambda d: d.update(announcement_id="1"),
        lambda d: d.update(detail=5),
    ],
)
def test_malformed_events_raise_protocol_error(mutate) -> None:
    d = Event("u1", "s", "ob", 1, "started", NOW).to_dict()
    mutate(d)
    with pytest.raises(ProtocolError):
        Event.from_dict(d)
