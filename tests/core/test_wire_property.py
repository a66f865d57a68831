"""Property tests of every wire entry point (issue 10): whatever arrives, only the protocol's
rejection error (:class:`ProtocolError`) escapes; never OverflowError, ValueError, RecursionError,
TypeError or a value the database cannot store.

Inputs are arbitrary JSON-like values, and valid messages with one field replaced by a hostile
value (huge or negative integers, non-finite numbers, times out of range, deep nesting, long or
unstorable strings), so the examples reach past the first checks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.clock import FakeClock
from broadcaster.ingest import Ingestor, Rejected
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire import bounded
from broadcaster.wire.commands import Command, KeysUpdate
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Event, Status
from broadcaster.wire.plan import Media, Plan, PlanItem, Stream
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from tests.support.clock import FIXED_NOW

# Quick enough for CI on two shared cores: these run in every suite, not marked slow.
CI = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SIGNER = Signer.generate()
VERIFIER = Verifier([SIGNER.public_b64])
TOPICS = Topics("loa/v1")
SHA = "ab" * 32

MEDIA = Media(SHA, "http://media.example/a.mp3", 1000, 2000)
ITEM = PlanItem("occ-1", FIXED_NOW, "Thông báo", 7, "normal", MEDIA, volume=80,
                stream=None)  # fmt: skip
STREAM_ITEM = PlanItem(
    "occ-2", FIXED_NOW, "Tiếp sóng", 8, "priority", MEDIA, stream=Stream("http://r.example/s", 60)
)
VALID: dict[str, dict[str, Any]] = {
    "event": Event(
        "e1", "site-a", "ob", 3, "started", FIXED_NOW, "occ-1", 7, FIXED_NOW, "late", "c1", 12
    ).to_dict(),
    "ack": Ack("site-a", "ob", 3, FIXED_NOW).to_dict(),
    "status": Status(
        "site-a",
        "online",
        FIXED_NOW,
        5,
        "1.0",
        "",
        uptime_s=10,
        cache_bytes=100,
        disk_free_bytes=1000,
        cpu_temp_c=45.5,
        clock_offset_ms=1.5,
        clock_synced=True,
        keys_version=1,
        volume=80,
        store_ok=True,
        last_error="x",
    ).to_dict(),
    "plan": Plan(
        "site-a", 5, FIXED_NOW, FIXED_NOW + timedelta(hours=48), (ITEM, STREAM_ITEM)
    ).to_dict(),  # fmt: skip
    "command": Command(
        "c1",
        9,
        "play",
        FIXED_NOW,
        FIXED_NOW + timedelta(minutes=10),
        ("site-a",),
        ("z1",),
        item=ITEM,
        reason="khẩn cấp",
    ).to_dict(),  # fmt: skip
    "keys": KeysUpdate(
        3, FIXED_NOW, FIXED_NOW + timedelta(days=365), (SIGNER.public_b64,)
    ).to_dict(),  # fmt: skip
}
PARSERS = {
    "event": Event.from_dict,
    "ack": Ack.from_dict,
    "status": Status.from_dict,
    "plan": Plan.from_dict,
    "command": Command.from_dict,
    "keys": KeysUpdate.from_dict,
    "item": PlanItem.from_dict,
    "media": Media.from_dict,
    "stream": Stream.from_dict,
}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, -(2**63) - 1, 2**31, 10**5000, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2030-03-04T01:00:00",  # no offset
            "x" * 100_000,
            "a\x00b",
            "\ud800",
            "",
        ]
    ),
    st.text(max_size=100),
    st.builds(_nested, st.integers(min_value=1, max_value=900)),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def _replace(d: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """A deep copy of ``d`` with the value at ``path`` (keys, or list indexes as strings)
    replaced by ``value``."""
    out = json.loads(json.dumps(d))
    node: Any = out
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value
    return out


def _paths(value: Any, prefix: list[str] | None = None) -> list[list[str]]:
    prefix = prefix or []
    out: list[list[str]] = []
    items = (
        value.items() if isinstance(value, dict) else enumerate(value)
        if isinstance(value, list) else ()
    )  # fmt: skip
    for k, v in items:
        out.append([*prefix, str(k)])
        out += _paths(v, [*prefix, str(k)])
    return out


def _only_protocol_errors(parse: Any, value: Any) -> None:
    try:
        parse(value)
    except ProtocolError:
        pass


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(VALID)))
    paths = _paths(VALID[kind])
    path = draw(st.sampled_from(paths))
    return kind, _replace(VALID[kind], path, draw(HOSTILE))


def test_the_valid_messages_parse() -> None:
    for kind, d in VALID.items():
        assert PARSERS[kind](d).to_dict() == d


def test_a_header_field_of_5000_digits_is_a_protocol_error() -> None:
    # found by the property test below: str() of such an int raises ValueError
    huge = 10**5000
    for kind, d in VALID.items():
        for field in ("v", "type"):
            with pytest.raises(ProtocolError):
                PARSERS[kind]({**d, field: huge})


@CI
@given(mutated())
def test_from_dict_of_a_message_with_one_hostile_field(case: tuple[str, dict[str, Any]]) -> None:
    kind, d = case
    _only_protocol_errors(PARSERS[kind], d)


@CI
@given(st.sampled_from(sorted(PARSERS)), JSONISH)
def test_from_dict_of_anything(kind: str, value: Any) -> None:
    _only_protocol_errors(PARSERS[kind], value)


@CI
@given(st.sampled_from(sorted(PARSERS)), st.dictionaries(st.sampled_from(
    ["v", "type", "id", "site", "seq", "at", "items", "item", "media", "keys", "url", "sha256"]
), HOSTILE, max_size=6))  # fmt: skip
def test_from_dict_of_hostile_fields(kind: str, value: dict[str, Any]) -> None:
    value.setdefault("v", 1)
    value.setdefault("type", kind)
    _only_protocol_errors(PARSERS[kind], value)


@CI
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_bounded_loads_of_any_bytes(data: bytes) -> None:
    _only_protocol_errors(bounded.loads, data)


@CI
@given(mutated())
def test_verify_then_parse_of_a_signed_hostile_message(case: tuple[str, dict[str, Any]]) -> None:
    """What an agent does with a signed message (a compromised or buggy server)."""
    kind, d = case
    try:
        data = SIGNER.sign(d)
    except (ValueError, RecursionError):  # NaN or deep nesting: cannot be signed, never sent
        return
    try:
        PARSERS[kind](VERIFIER.open(data))
    except ProtocolError:
        pass


@CI
@given(st.binary(max_size=300))
def test_verify_of_any_bytes(data: bytes) -> None:
    _only_protocol_errors(VERIFIER.open, data)


def test_hostile_json_texts_are_refused_by_the_bounded_parser() -> None:
    texts = [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50 + "1" + "}" * 50,
        "1" * 5000,
        "Infinity",
        "-Infinity",
        "NaN",
        "1e999",
        str(2**63),
        json.dumps(["x" * 10_000]),
        json.dumps(list(range(6000))),
        json.dumps({str(i): i for i in range(100)}),
        '"\\u0000"',
        '"\\ud800"',
    ]
    for text in texts:
        try:
            bounded.loads(text.encode())
        except ProtocolError as exc:
            assert exc.reason == "malformed"
        else:
            raise AssertionError(f"accepted {text[:40]!r}")


@st.composite
def event_payloads(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    d = _replace(VALID["event"], [draw(st.sampled_from(list(VALID["event"])))], draw(HOSTILE))
    try:
        return json.dumps(d).encode()
    except (ValueError, OverflowError, RecursionError):  # what json.dumps cannot write
        return b"{}"


@CI
@given(event_payloads())
def test_ingest_parse_event_never_raises(payload: bytes) -> None:
    ingestor = Ingestor(
        None,  # type: ignore[arg-type]  # parsing touches no database
        SIGNER,
        MemoryPublisher(),
        TOPICS,
        FakeClock(datetime(2030, 1, 1, tzinfo=UTC)),
    )
    out = ingestor.parse_event(TOPICS.events("site-a"), payload)
    assert isinstance(out, Event | Rejected)
    if isinstance(out, Rejected):
        assert out.reason and out.site == "site-a"
        row = out.row(FIXED_NOW)  # what gets stored: always storable text
        assert "\x00" not in row["payload"]
        row["payload"].encode("utf-8")


@st.composite
def batch_payloads(draw: st.DrawFn) -> bytes:
    """An ``events`` batch of valid and hostile entries, or a hostile envelope."""
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(list(VALID["event"])))
        entries.append(_replace(VALID["event"], [key], draw(HOSTILE)))
    d: Any = {"v": 1, "type": "events", "site": "site-a", "events": entries}
    if draw(st.booleans()):
        d = _replace(d, [draw(st.sampled_from(["v", "site", "events"]))], draw(HOSTILE))
    try:
        return json.dumps(d).encode()
    except (ValueError, OverflowError, RecursionError):
        return b'{"v":1,"type":"events"}'


@CI
@given(batch_payloads())
def test_ingest_parse_events_never_raises(payload: bytes) -> None:
    ingestor = Ingestor(
        None,  # type: ignore[arg-type]  # parsing touches no database
        SIGNER,
        MemoryPublisher(),
        TOPICS,
        FakeClock(datetime(2030, 1, 1, tzinfo=UTC)),
    )
    out = ingestor.parse_events(TOPICS.events("site-a"), payload)
    assert out and all(isinstance(one, Event | Rejected) for one in out)
    for one in out:
        if isinstance(one, Rejected):
            assert one.reason and one.site == "site-a"
            row = one.row(FIXED_NOW)
            assert "\x00" not in row["payload"]
            row["payload"].encode("utf-8")
