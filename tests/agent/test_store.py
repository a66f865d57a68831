from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.agent.store import Store

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)


def test_outbox_seq_is_monotonic_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    with Store(path, "s1") as store:
        outbox = store.outbox_id
        events = [store.append_event("started", T0, item_id=f"i{n}") for n in range(3)]
        assert [e.seq for e in events] == [1, 2, 3]
        assert {e.outbox for e in events} == {outbox}
    with Store(path, "s1") as store:
        assert store.outbox_id == outbox
        assert [e.seq for e in store.pending_events()] == [1, 2, 3]
        assert store.pending_events()[0].item_id == "i0"
        assert store.append_event("finished", T0).seq == 4


def test_ack_deletes_up_to_seq_and_seq_never_goes_back(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3", "s1") as store:
        for _ in range(5):
            store.append_event("started", T0)
        assert store.ack(3) == 3
        assert [e.seq for e in store.pending_events()] == [4, 5]
        assert store.ack(5) == 2
        assert store.outbox_size() == 0
        assert store.append_event("started", T0).seq == 6


def test_resend_selection_by_sent_time(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3", "s1") as store:
        for _ in range(3):
            store.append_event("started", T0)
        store.mark_sent([1, 2], when=100.0)
        store.mark_sent([2], when=200.0)
        assert [e.seq for e in store.pending_events(sent_before=150.0)] == [1, 3]


def test_plan_only_moves_forward(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    with Store(path, "s1") as store:
        assert store.plan() is None
        store.save_plan(2, json.dumps({"v": 2}), T0)
        with pytest.raises(ValueError, match="not newer"):
            store.save_plan(2, "{}", T0)
        with pytest.raises(ValueError, match="not newer"):
            store.save_plan(1, "{}", T0)
    with Store(path, "s1") as store:
        assert store.plan() == (2, '{"v": 2}')


def test_handled_is_atomic_with_the_event_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    with Store(path, "s1") as store:
        store.append_event("started", T0, item_id="occ-1", scheduled_at=T0, mark_handled=True)
        with pytest.raises(Exception, match="UNIQUE"):
            store.append_event("started", T0, item_id="occ-1", scheduled_at=T0, mark_handled=True)
        # the failed transaction left neither an event nor a gap in seq
        assert [e.seq for e in store.pending_events()] == [1]
    with Store(path, "s1") as store:
        assert store.handled_ids() == {"occ-1"}
        assert store.append_event("finished", T0).seq == 2
        # handled items long past are forgotten when a new plan is saved
        store.save_plan(1, "{}", T0 + timedelta(days=8))
        assert store.handled_ids() == set()


def test_concurrent_appends_get_distinct_seqs(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3", "s1") as store:

        def work() -> None:
            for _ in range(25):
                store.append_event("started", T0)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [e.seq for e in store.pending_events()] == list(range(1, 101))
