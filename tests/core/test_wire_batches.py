"""Events in batches on the wire: the ``events`` message, its bounds, the packing an agent does,
the admission cost ingest reads without parsing, and ``Ack.batch_max`` (written only when set)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.ingest import MAX_PAYLOAD
from broadcaster.wire import bounded
from broadcaster.wire.batches import (
    BATCH_MAX_BYTES,
    BATCH_MAX_EVENTS,
    EventBatch,
    cost_bound,
    encode_event,
    entries,
    pack,
)
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Event

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SITE = "cum-loa-t1"


def events(n: int, detail: str = "", start: int = 1) -> list[Event]:
    return [
        Event(
            f"e-{i}",
            SITE,
            "ob1",
            i,
            "started",
            NOW + timedelta(seconds=i),
            f"s{i}-1",
            1,
            NOW,
            detail,
            late_ms=i,
        )  # fmt: skip
        for i in range(start, start + n)
    ]


def test_a_batch_round_trips_with_its_events_exactly_as_alone() -> None:
    batch = EventBatch(SITE, tuple(events(3)))
    d = batch.to_dict()
    assert (d["v"], d["type"], d["site"]) == (1, "events", SITE)
    assert d["events"] == [e.to_dict() for e in batch.events]
    assert EventBatch.from_dict(json.loads(json.dumps(d))) == batch


def test_the_envelope_is_bounded_and_checked() -> None:
    good = EventBatch(SITE, tuple(events(2))).to_dict()
    for broken, reason in [
        ({**good, "events": []}, "malformed"),
        ({**good, "events": {"0": good["events"][0]}}, "malformed"),
        ({**good, "events": good["events"] * 26}, "malformed"),  # 52 entries
        ({**good, "type": "event"}, "wrong-type"),
        ({**good, "v": 2}, "unsupported-version"),
        ({k: v for k, v in good.items() if k != "site"}, "malformed"),
        ([good], "malformed"),
    ]:
        with pytest.raises(ProtocolError) as err:
            entries(broken)
        assert err.value.reason == reason
    site, raw = entries({**good, "events": good["events"] * 25})  # exactly 50
    assert site == SITE and len(raw) == BATCH_MAX_EVENTS
    with pytest.raises(ProtocolError):  # the strict reader refuses a bad entry
        EventBatch.from_dict({**good, "events": [good["events"][0], {"v": 1}]})


def test_pack_bounds_each_message_by_count_and_bytes_and_keeps_order() -> None:
    many = events(120)
    packed = list(pack(SITE, many))
    assert [len(group) for group, _ in packed] == [50, 50, 20]
    for group, payload in packed:
        batch = EventBatch.from_dict(bounded.loads(payload, MAX_PAYLOAD))
        assert list(batch.events) == group
    assert [e for group, _ in packed for e in group] == many

    # Vietnamese details of 990 characters (mostly 3 bytes each in UTF-8): bytes bound first.
    wordy = events(60, detail="Thông báo " + "ủ" * 980)
    packed = list(pack(SITE, wordy))
    assert len(packed) > 2
    for group, payload in packed:
        assert len(payload) <= BATCH_MAX_BYTES == MAX_PAYLOAD
        assert len(group) < BATCH_MAX_EVENTS
        assert list(EventBatch.from_dict(json.loads(payload)).events) == group
    assert [e for group, _ in packed for e in group] == wordy


def test_pack_sends_a_lone_event_as_a_plain_event() -> None:
    (only,) = events(1)
    assert list(pack(SITE, [only])) == [([only], encode_event(only))]
    assert Event.from_dict(json.loads(encode_event(only))) == only
    singles = list(pack(SITE, events(3), max_events=1))
    assert [json.loads(p)["type"] for _, p in singles] == ["event"] * 3
    assert list(pack(SITE, [])) == []


def test_cost_bound_counts_a_batch_by_its_events_without_parsing() -> None:
    (one,) = pack(SITE, events(1))
    assert cost_bound(one[1]) == 1
    (thirty,) = pack(SITE, events(30))
    assert cost_bound(thirty[1]) == 30
    with_braces = events(1, detail="{{{{ }}}}")[0]
    assert cost_bound(encode_event(with_braces)) == 1  # a single event: braces not counted
    # A batch whose type hides behind an escape is still counted by its objects, and never
    # above the most a batch may hold.
    hidden = thirty[1].replace(b'"type":"events"', b'"type":"event\\u0073"')
    assert json.loads(hidden)["type"] == "events"
    assert cost_bound(hidden) == 30
    assert cost_bound(b'{"type":"events","x":"' + b"{" * 5000 + b'"}') == BATCH_MAX_EVENTS


def test_ack_batch_max_is_written_only_when_set() -> None:
    old = Ack(SITE, "ob1", 7, NOW)
    assert "batch_max" not in old.to_dict()  # byte-for-byte what an older server sends
    assert Ack.from_dict(old.to_dict()).batch_max is None
    new = Ack(SITE, "ob1", 7, NOW, batch_max=50)
    assert new.to_dict()["batch_max"] == 50
    assert Ack.from_dict(new.to_dict()) == new
    # A newer server may take more than this agent sends: still a valid ack.
    assert Ack.from_dict({**new.to_dict(), "batch_max": 10_000}).batch_max == 10_000
    for bad in (-1, "50", True, 1.5):
        with pytest.raises(ProtocolError):
            Ack.from_dict({**new.to_dict(), "batch_max": bad})
