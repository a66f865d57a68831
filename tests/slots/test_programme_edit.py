"""Writing slots and relays (schedules.programme_edit), on SQLite and PostgreSQL: what is refused
and why, the one fallback a new relay gets, and each change moving the planner's marks and
plans."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock
from broadcaster.db import transaction
from broadcaster.models import PlanMark, Relay, Slot, Unit, User
from broadcaster.scope import Scope
from schedules import workflow
from schedules.planner import materialize, slot_specs
from schedules.programme_edit import (
    ProgrammeEditError,
    RelayFields,
    SlotFields,
    delete_relay,
    delete_slot,
    save_relay,
    save_slot,
)
from tests.web.conftest import FakeRenderer

WHOLE = Scope.whole()


def _marks(s: Session) -> int:
    return s.scalar(select(func.coalesce(func.sum(PlanMark.version), 0))) or 0


def _commune(s: Session, code: str) -> Scope:
    return Scope.below(s, s.scalars(select(Unit.id).where(Unit.code == code)).one())


def _relay(**changes: object) -> RelayFields:
    fields: dict[str, object] = {
        "name": "Thời sự VOV1",
        "stream_url": "https://stream.vov.vn/vov1",
        "start": time(9, 0),
        "minutes": 30,
        "zone_ids": ("thon-1",),
    }
    fields.update(changes)
    return RelayFields(**fields)  # type: ignore[arg-type]


def _code(call: object) -> str:
    with pytest.raises(ProgrammeEditError) as info:
        call()  # type: ignore[operator]
    return info.value.code


def test_a_slot_is_saved_and_moves_the_plans_marks(app: object, db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        before = _marks(s)
        slot = save_slot(
            s, WHOLE, SlotFields("Bản tin tối", time(19, 0), time(19, 30), ("MO", "FR"))
        )
        assert slot.days == "MO,FR"
    with transaction(db) as s:
        assert _marks(s) > before
        assert "Bản tin tối" in [spec.name for spec in slot_specs(s)]
        slot = s.scalars(select(Slot).where(Slot.name == "Bản tin tối")).one()
        save_slot(
            s, WHOLE, SlotFields("Bản tin tối", time(20, 0), time(20, 15), ("SU", "MO")), slot
        )
    with db() as s:
        slot = s.scalars(select(Slot).where(Slot.name == "Bản tin tối")).one()
        assert (slot.start, slot.end, slot.days) == (time(20, 0), time(20, 15), "MO,SU")


def test_slots_refused(app: object, db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        assert _code(lambda: save_slot(s, WHOLE, SlotFields("X", time(9), time(9)))) == "order"
        assert (
            _code(lambda: save_slot(s, WHOLE, SlotFields("Bản tin sáng", time(9), time(10))))
            == "taken"
        )
        assert _code(lambda: save_slot(s, WHOLE, SlotFields("X", time(9), time(10), ()))) == "days"
        assert (
            _code(lambda: save_slot(s, WHOLE, SlotFields("X", time(9), time(10), ("XX",))))
            == "days"
        )
        assert _code(lambda: save_slot(s, WHOLE, SlotFields("  ", time(9), time(10)))) == "name"
        # Slots are shared by every commune: a commune's scope does not change them.
        dh = _commune(s, "62001")
        assert _code(lambda: save_slot(s, dh, SlotFields("X", time(9), time(10)))) == "shared"
        morning = s.scalars(select(Slot).where(Slot.name == "Bản tin sáng")).one()
        assert _code(lambda: delete_slot(s, dh, morning)) == "shared"


def test_a_slot_in_use_is_not_deleted(app: object, db: sessionmaker[Session], clock: Clock) -> None:
    with transaction(db) as s:
        noon = s.scalars(select(Slot).where(Slot.name == "Bản tin trưa")).one()
        evening = s.scalars(select(Slot).where(Slot.name == "Bản tin chiều")).one()
        author = s.scalars(select(User).where(User.username == "bientap")).one()
        workflow.create_announcement(
            s,
            author,
            title="Tin trong khung giờ trưa",
            body="Nội dung.",
            zone_ids=["thon-1"],
            start_at=clock.now(),
            slot_id=noon.id,
            now=clock.now(),
        )
        assert _code(lambda: delete_slot(s, WHOLE, noon)) == "in-use"
        delete_slot(s, WHOLE, evening)
    with db() as s:
        assert s.scalars(select(Slot.name).order_by(Slot.start)).all() == [
            "Bản tin sáng",
            "Bản tin trưa",
        ]


def test_a_relay_gets_one_fallback_and_reaches_its_sites_plans(
    app: object, db: sessionmaker[Session], renderer: FakeRenderer, clock: Clock
) -> None:
    with transaction(db) as s:
        before = _marks(s)
        first = save_relay(s, _commune(s, "62001"), _relay(), renderer)
        second = save_relay(
            s, WHOLE, _relay(name="Đài tỉnh", zone_ids=("thon-2", "dm-thon-3")), renderer
        )
        assert first.fallback_sha256 and second.fallback_sha256 == first.fallback_sha256
    assert renderer.texts.count(renderer.texts[-1]) == 2  # one rendering per new relay
    with db() as s:
        assert _marks(s) > before
        plans = materialize(s, clock.now(), timedelta(hours=24), "http://server")
    relayed = {site for site, items in plans.items() for i in items if i.stream is not None}
    assert relayed == {"cum-loa-t1", "cum-loa-t2", "dai-xa", "dm-cum-loa-t3"}
    item = next(i for i in plans["cum-loa-t1"] if i.stream is not None)
    assert item.title == "Thời sự VOV1" and item.stream is not None
    assert (
        item.stream.url == "https://stream.vov.vn/vov1" and item.stream.duration_ms == 30 * 60_000
    )


def test_an_edited_or_paused_relay_changes_the_plans(
    app: object, db: sessionmaker[Session], renderer: FakeRenderer, clock: Clock
) -> None:
    with transaction(db) as s:
        relay_id = save_relay(s, WHOLE, _relay(), renderer).id
    with transaction(db) as s:
        relay = s.get(Relay, relay_id)
        assert relay is not None
        save_relay(s, WHOLE, _relay(zone_ids=("thon-2",), minutes=45), renderer, relay)
    with db() as s:
        plans = materialize(s, clock.now(), timedelta(hours=24), "http://server")
    assert not any(i.stream for i in plans["cum-loa-t1"])
    assert [i.stream.duration_ms for i in plans["cum-loa-t2"] if i.stream] == [45 * 60_000]
    with transaction(db) as s:
        relay = s.get(Relay, relay_id)
        assert relay is not None
        save_relay(s, WHOLE, _relay(zone_ids=("thon-2",), active=False), renderer, relay)
    with db() as s:
        plans = materialize(s, clock.now(), timedelta(hours=24), "http://server")
    assert not any(i.stream for i in plans["cum-loa-t2"])
    with transaction(db) as s:
        relay = s.get(Relay, relay_id)
        assert relay is not None
        delete_relay(s, WHOLE, relay)
    with db() as s:
        assert s.get(Relay, relay_id) is None


def test_relays_refused(app: object, db: sessionmaker[Session], renderer: FakeRenderer) -> None:
    with transaction(db) as s:
        dh = _commune(s, "62001")
        assert _code(lambda: save_relay(s, dh, _relay(stream_url="rtsp://x"), renderer)) == "stream"
        assert (
            _code(lambda: save_relay(s, dh, _relay(stream_url="https://a b"), renderer)) == "stream"
        )
        assert _code(lambda: save_relay(s, dh, _relay(minutes=0), renderer)) == "minutes"
        assert _code(lambda: save_relay(s, dh, _relay(minutes=721), renderer)) == "minutes"
        assert _code(lambda: save_relay(s, dh, _relay(zone_ids=()), renderer)) == "zones"
        # Đắk Hà's administrator cannot put Đắk Mar's zone on a relay, nor reach its relay.
        assert (
            _code(lambda: save_relay(s, dh, _relay(zone_ids=("thon-1", "dm-thon-3")), renderer))
            == "zones"
        )
        theirs = save_relay(s, WHOLE, _relay(name="Đắk Mar", zone_ids=("dm-thon-3",)), renderer)
        assert _code(lambda: save_relay(s, dh, _relay(), renderer, theirs)) == "scope"
        assert _code(lambda: delete_relay(s, dh, theirs)) == "scope"
        assert _code(lambda: save_relay(s, dh, _relay(name="Đắk Mar"), renderer)) == "taken"
    assert renderer.texts  # the one relay saved got its fallback
