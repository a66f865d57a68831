"""Bulletins down the tree, for real (issue 11): the demo province with its five agent processes
and a private Mosquitto; the province sends one bulletin of each class to both communes.

- emergency: plays at once at every site of both communes (the emergency command);
- normal: Đắk Hà accepts it at a time and its three sites play it; Đắk Mar declines it and
  its two sites never do;
- priority: placed in the next slot of both communes; at Đắk Hà it plays before the commune's
  own priority item in that slot; Đắk Mar's staff put their own item first, and it plays so.

The sender's per-commune view then counts what each commune aired. About two minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.renderer import make_renderer
from broadcaster.broker import PrivateBroker
from broadcaster.commands import CommandPublisher
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.demo import Demo, _online_sites
from broadcaster.keys import following_signer
from broadcaster.models import Bulletin, Playback, Slot, User
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.wire.topics import Topics
from schedules import bulletins, workflow
from schedules.bulletin_status import commune_status
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc
from tests.support.agents import wait_for

pytestmark = pytest.mark.slow

A_SITES = {"dai-xa", "cum-loa-t1", "cum-loa-t2"}  # Xã Đắk Hà
B_SITES = {"dm-cum-loa-t3", "dm-cum-loa-kt"}  # Xã Đắk Mar
SLOT_LEAD = timedelta(seconds=60)  # the slot opens this long after the bulletins are written


def _user(s: Session, username: str) -> User:
    return s.scalars(select(User).where(User.username == username)).one()


def _commune_ids(s: Session) -> list[int]:
    return [u.id for u in bulletins.target_communes(s, _user(s, "bientap"))]


def _send(s: Session, settings: Settings, priority: str, title: str, now: datetime) -> Bulletin:
    """Written by the province's editor, approved by its approver."""
    b = bulletins.write_bulletin(
        s,
        _user(s, "bientap"),
        title=title,
        body=f"{title}. Đề nghị bà con chú ý.",
        priority=priority,
        commune_ids=_commune_ids(s),
        render=make_renderer(settings),
        now=now,
    )
    return bulletins.approve_bulletin(s, b, _user(s, "pheduyet"), now=now)


def _own_priority(
    s: Session, settings: Settings, suffix: str, zone: str, slot: int, now: datetime
) -> int:
    """A commune's own priority item in the slot, approved before the province's arrives."""
    editor = _user(s, f"bientap-{suffix}")
    ann = workflow.create_announcement(
        s,
        editor,
        title=f"Tin ưu tiên của xã {suffix}",
        body="Xã thông báo lịch phun thuốc.",
        zone_ids=[zone],
        start_at=now + timedelta(seconds=20),
        slot_id=slot,
        priority="priority",
        now=now,
    )
    workflow.submit(s, ann, editor, make_renderer(settings), now=now)
    workflow.approve(s, ann, _user(s, f"pheduyet-{suffix}"), now=now)
    return ann.id


def _finished(db: sessionmaker[Session], ann_id: int) -> dict[str, datetime]:
    """Each site that played the announcement to the end, and when it started."""
    with db() as s:
        rows = s.scalars(
            select(Playback).where(Playback.announcement_id == ann_id, Playback.verified)
        )
        bad = [f"{r.site_id}: {r.status} {r.detail}" for r in rows if r.status not in _OK]
        assert not bad, bad
        rows = s.scalars(
            select(Playback).where(
                Playback.announcement_id == ann_id, Playback.status == "finished"
            )
        )
        return {r.site_id: r.started_at for r in rows if r.started_at is not None}


_OK = ("scheduled", "received", "started", "finished")


def _slot_window(now: datetime) -> tuple[datetime, datetime]:
    """A slot of today opening SLOT_LEAD from now (local time; past midnight if that is near)."""
    local = to_local(now + SLOT_LEAD, DEFAULT_TZ)
    if local.date() != (local + timedelta(minutes=5)).date():
        pytest.skip("a slot window cannot span local midnight; run again in five minutes")
    start = local.replace(microsecond=0)
    return start, start + timedelta(minutes=4)  # naive local wall-clock times


def test_each_class_of_bulletin_behaves_as_thong_tu_39_says(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    demo = Demo(workdir=tmp_path / "demo", port=0, broker=broker)
    settings = demo.setup().replace(tts_engine="espeak")
    link: Link | None = None
    engine = None
    try:
        demo.start(settings)
        engine = make_engine(settings.database_url)
        db = session_factory(engine)
        wait_for(lambda: _online_sites(db) >= len(demo.agents), 30, "every agent online")

        # Emergency: recorded on approval, then its command goes out at once.
        link = Link(settings.mqtt_options(), unique_client_id("e2e"))
        link.start(wait=5.0)
        commands = CommandPublisher(
            following_signer(settings.signing_key_file), link, Topics(settings.topic_root)
        )
        with transaction(db) as s:
            em = _send(s, settings, "emergency", "Lũ quét khẩn cấp", demo.clock.now())
            em_id = em.id
        with transaction(db) as s:
            b = s.get(Bulletin, em_id)
            assert b is not None and bulletins.publish(s, b, commands, settings.public_url)
            em_ann = b.emergency.announcement_id  # type: ignore[union-attr]
        wait_for(lambda: set(_finished(db, em_ann)) == A_SITES | B_SITES, 60, "the emergency aired")

        # A slot opening soon; each commune has its own priority item in it.
        now = demo.clock.now()
        opens, closes = _slot_window(now)
        with transaction(db) as s:
            slot = Slot(name="Buổi thử", start=opens.time(), end=closes.time())
            s.add(slot)
            s.flush()
            own_a = _own_priority(s, settings, "dh", "thon-1", slot.id, demo.clock.now())
            own_b = _own_priority(s, settings, "dm", "dm-thon-3", slot.id, demo.clock.now())

        # Normal: Đắk Hà accepts it at a time before the slot, Đắk Mar declines.
        with transaction(db) as s:
            normal = _send(s, settings, "normal", "Lịch tiêm phòng", demo.clock.now())
            normal_id = normal.id
            a, m = sorted(normal.deliveries, key=lambda d: d.unit.code)
            now = demo.clock.now()
            copy = bulletins.accept(
                s, a, _user(s, "bientap-dh"), now=now, start_at=now + timedelta(seconds=20)
            )
            normal_a = copy.id
            bulletins.decline(s, m, _user(s, "pheduyet-dm"), "Trùng họp thôn", now=now)

        # Priority: in the next slot; Đắk Mar's staff put their own item first.
        with transaction(db) as s:
            prio = _send(s, settings, "priority", "Phòng chống dịch", demo.clock.now())
            prio_id = prio.id
            a, m = sorted(prio.deliveries, key=lambda d: d.unit.code)
            assert a.state == m.state == "placed"
            prio_a, prio_b = a.announcement_id, m.announcement_id
            assert prio_a is not None and prio_b is not None
            bulletins.set_order(s, m, _user(s, "bientap-dm"), ahead=False, now=demo.clock.now())

        wait_for(lambda: set(_finished(db, normal_a)) == A_SITES, 90, "the normal one aired")
        wait_for(lambda: set(_finished(db, prio_a)) == A_SITES, 150, "the priority one at A")
        wait_for(lambda: set(_finished(db, prio_b)) == B_SITES, 60, "the priority one at B")
        played_own_a = wait_for(lambda: _finished(db, own_a).get("cum-loa-t1"), 60, "A's own")
        played_own_b = wait_for(lambda: _finished(db, own_b).get("dm-cum-loa-t3"), 60, "B's own")

        # The province's goes first where the commune did not choose; after, where it did.
        assert _finished(db, prio_a)["cum-loa-t1"] < played_own_a
        assert _finished(db, prio_a)["dai-xa"] < _finished(db, own_a)["dai-xa"]
        assert played_own_b < _finished(db, prio_b)["dm-cum-loa-t3"]
        assert to_utc(opens) <= _finished(db, prio_a)["cum-loa-t1"] < to_utc(closes)
        # Nothing of the declined bulletin reached Đắk Mar's speakers.
        with db() as s:
            for site, wanted in (
                ("dm-cum-loa-t3", {em_ann, prio_b, own_b}),
                ("dm-cum-loa-kt", {em_ann, prio_b}),
            ):
                sent = s.scalars(select(Playback.announcement_id).where(Playback.site_id == site))
                assert set(sent) == wanted, site

            # The sender's view counts what each commune aired.
            def view(bulletin_id: int) -> dict[str, tuple[str, int, int]]:
                b = s.get(Bulletin, bulletin_id)
                assert b is not None
                return {
                    r.delivery.unit.code: (r.delivery.state, r.aired, r.sites)
                    for r in commune_status(s, b)
                }

            assert view(em_id) == {"62001": ("sent", 3, 3), "62002": ("sent", 2, 2)}
            assert view(normal_id) == {"62001": ("accepted", 3, 3), "62002": ("declined", 0, 2)}
            assert view(prio_id) == {"62001": ("placed", 3, 3), "62002": ("placed", 2, 2)}
    finally:
        if link is not None:
            link.stop()
        if engine is not None:
            engine.dispose()
        demo.stop()
