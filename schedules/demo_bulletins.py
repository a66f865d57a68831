"""`demo --check`'s bulletins: the province sends one bulletin of each Thông tư 39 class to
both demo communes, through the services and the running scheduler, ingest and agents.

- emergency: plays at once at every site of both communes (the emergency command);
- normal: Đắk Hà accepts it at a time and its sites play it; Đắk Mar declines it, and its
  sites never get it;
- priority: placed in the next slot of both communes; at Đắk Hà it plays before the commune's
  own priority item in that slot; Đắk Mar's staff put their own item first, and so it plays.

The sender's per-commune view must then count what each commune aired.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.renderer import Renderer
from broadcaster.clock import Clock
from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Announcement, Bulletin, BulletinDelivery, Playback, Slot, User
from schedules import bulletins, workflow
from schedules.bulletin_status import commune_status
from schedules.recurrence import DEFAULT_TZ, to_local, to_utc
from schedules.slots import SlotSpec, next_window

A, B = "62001", "62002"  # the demo's communes (schedules/demo_programme.yaml)
A_SITES = frozenset({"dai-xa", "cum-loa-t1", "cum-loa-t2"})
B_SITES = frozenset({"dm-cum-loa-t3", "dm-cum-loa-kt"})
SLOT_LEAD = timedelta(seconds=30)  # the check's slot opens this long after it is placed
SLOT_LENGTH = timedelta(minutes=4)
_FAILED = ("failed", "skipped", "interrupted", "rejected", "expired")


class CheckFailed(RuntimeError):
    """The bulletins did not air as their class says."""


@dataclass(frozen=True)
class Sent:
    emergency: int
    normal: int
    priority: int
    own: dict[str, int]  # commune code → its own priority item in the slot


def _user(s: Session, username: str) -> User:
    return s.scalars(select(User).where(User.username == username)).one()


def _write(s: Session, render: Renderer, priority: str, title: str, now: datetime) -> Bulletin:
    """Written (and spoken) by the province's editor for both communes."""
    editor = _user(s, "bientap")
    return bulletins.write_bulletin(
        s,
        editor,
        title=title,
        body=f"{title}. Đề nghị bà con chú ý theo dõi.",
        priority=priority,
        commune_ids=[u.id for u in bulletins.target_communes(s, editor)],
        render=render,
        now=now,
    )


def _approve(factory: sessionmaker[Session], bulletin_id: int, now: datetime) -> Bulletin:
    with transaction(factory) as s:
        b = s.get(Bulletin, bulletin_id)
        assert b is not None
        return bulletins.approve_bulletin(s, b, _user(s, "pheduyet"), now=now)


def _own_priority(
    factory: sessionmaker[Session],
    render: Renderer,
    suffix: str,
    zone: str,
    slot: int,
    clock: Clock,
) -> int:
    """A commune's own priority item in the slot, approved before the province's arrives
    (written, spoken and approved in transactions of their own: no write lock is held while
    the text is spoken)."""
    with transaction(factory) as s:
        ann = workflow.create_announcement(
            s,
            _user(s, f"bientap-{suffix}"),
            title=f"Tin ưu tiên của xã ({suffix})",
            body="Xã thông báo lịch phun thuốc khử trùng.",
            zone_ids=[zone],
            start_at=clock.now() + timedelta(seconds=15),
            slot_id=slot,
            priority="priority",
            now=clock.now(),
        )
        ann_id = ann.id
    with transaction(factory) as s:
        written = s.get(Announcement, ann_id)
        assert written is not None
        workflow.submit(s, written, _user(s, f"bientap-{suffix}"), render, now=clock.now())
    with transaction(factory) as s:
        submitted = s.get(Announcement, ann_id)
        assert submitted is not None
        now = clock.now()  # it asks for the slot's next window from 15 s on
        workflow.approve(
            s,
            submitted,
            _user(s, f"pheduyet-{suffix}"),
            start_at=now + timedelta(seconds=15),
            now=now,
        )
    return ann_id


def slot_window(now: datetime, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """Local wall-clock start and end of a slot opening ``SLOT_LEAD`` from now (just after
    midnight when it would span it: a slot is a window within one day)."""
    start = to_local(now + SLOT_LEAD, tz).replace(microsecond=0, tzinfo=None)
    if (start + SLOT_LENGTH).date() != start.date():
        start = datetime.combine((start + SLOT_LENGTH).date(), datetime.min.time())
        start += timedelta(seconds=30)
    return start, start + SLOT_LENGTH


def _open_the_slot(
    factory: sessionmaker[Session], slot_id: int, clock: Clock
) -> tuple[datetime, datetime]:
    """Move the check's slot to open SLOT_LEAD from now; first let a demo slot that would open
    sooner begin (a window that has begun is no longer "the next"). Its UTC window."""
    with factory() as s:
        first = bulletins.next_slot(s, clock.now())
        soonest = next_window(SlotSpec.of(first), clock.now()) if first is not None else None
    if soonest is not None and soonest.start <= clock.now() + SLOT_LEAD + timedelta(seconds=10):
        if first is not None and first.id != slot_id:
            time.sleep(max(0.0, (soonest.start - clock.now()).total_seconds()) + 1)
    opens, closes = slot_window(clock.now())
    with transaction(factory) as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None
        slot.start, slot.end = opens.time(), closes.time()
    return to_utc(opens), to_utc(closes)


def _finished(factory: sessionmaker[Session], ann_id: int | None) -> dict[str, datetime]:
    """Each site that played the announcement to the end, and when it started; fails at once
    on any other end."""
    with factory() as s:
        rows = list(s.scalars(select(Playback).where(Playback.announcement_id == ann_id)))
    bad = [f"{r.site_id}: {r.status} {r.detail}" for r in rows if r.status in _FAILED]
    if bad:
        raise CheckFailed(f"announcement {ann_id}: {'; '.join(bad)}")
    return {
        r.site_id: r.started_at
        for r in rows
        if r.status == "finished" and r.verified and r.started_at is not None
    }


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise CheckFailed(f"{what}: not within {timeout:.0f} s")


def send_bulletins(
    factory: sessionmaker[Session],
    render: Renderer,
    clock: Clock,
    commands: CommandPublisher,
    public_url: str,
) -> tuple[Sent, tuple[datetime, datetime]]:
    """Send the three bulletins (the emergency waits until it has aired everywhere); returns
    what was sent and the UTC window of the slot the priority one goes to."""
    with transaction(factory) as s:
        em_id = _write(s, render, "emergency", "Cảnh báo lũ quét", clock.now()).id
    _approve(factory, em_id, clock.now())
    with transaction(factory) as s:
        em = s.get(Bulletin, em_id)
        assert em is not None and em.emergency is not None
        bulletins.publish(s, em, commands, public_url)
        em_ann = em.emergency.announcement_id
    _wait(lambda: set(_finished(factory, em_ann)) >= A_SITES | B_SITES, 60, "the emergency")

    # The check's slot; it is put SLOT_LEAD ahead once everything is written and spoken (a
    # loaded machine takes tens of seconds to speak), before the priority bulletin's approval.
    opens, closes = slot_window(clock.now() + timedelta(hours=1))
    with transaction(factory) as s:
        slot = Slot(name="Khung giờ kiểm tra", start=opens.time(), end=closes.time())
        s.add(slot)
        s.flush()
        slot_id = slot.id
    own = {
        A: _own_priority(factory, render, "dh", "thon-1", slot_id, clock),
        B: _own_priority(factory, render, "dm", "dm-thon-3", slot_id, clock),
    }
    with transaction(factory) as s:
        normal_id = _write(s, render, "normal", "Lịch tiêm phòng gia súc", clock.now()).id
    _approve(factory, normal_id, clock.now())
    with transaction(factory) as s:
        by_code = {
            d.unit.code: d
            for d in s.scalars(
                select(BulletinDelivery).where(BulletinDelivery.bulletin_id == normal_id)
            )
        }
        now = clock.now()
        bulletins.accept(
            s, by_code[A], _user(s, "bientap-dh"), now=now, start_at=now + timedelta(seconds=20)
        )
        bulletins.decline(s, by_code[B], _user(s, "pheduyet-dm"), "Trùng lịch họp thôn", now=now)
    with transaction(factory) as s:
        priority_id = _write(s, render, "priority", "Phòng chống dịch tả lợn", clock.now()).id
    window = _open_the_slot(factory, slot_id, clock)
    _approve(factory, priority_id, clock.now())
    with transaction(factory) as s:
        placed = s.scalars(
            select(BulletinDelivery).where(BulletinDelivery.bulletin_id == priority_id)
        ).all()
        by_code = {d.unit.code: d for d in placed}
        if {d.announcement.schedule[0].slot_id for d in placed if d.announcement} != {slot_id}:
            raise CheckFailed("the priority bulletin was not placed in the slot that opens next")
        bulletins.set_order(s, by_code[B], _user(s, "bientap-dm"), ahead=False, now=clock.now())
    return Sent(em_id, normal_id, priority_id, own), window


def check_bulletins(
    factory: sessionmaker[Session], sent: Sent, window: tuple[datetime, datetime], clock: Clock
) -> str:
    """Wait for every airing and check each class's behaviour; returns a one-line summary."""
    with factory() as s:
        copies = {
            b.id: {d.unit.code: d.announcement_id for d in b.deliveries}
            for b in s.scalars(
                select(Bulletin).where(Bulletin.id.in_([sent.normal, sent.priority]))
            )
        }
    normal, prio = copies[sent.normal], copies[sent.priority]
    if normal[B] is not None:
        raise CheckFailed("the declined bulletin became an airing in Đắk Mar")
    wait = max(0.0, (window[0] - clock.now()).total_seconds()) + 150
    _wait(lambda: set(_finished(factory, normal[A])) == A_SITES, wait, "the normal bulletin")
    _wait(lambda: set(_finished(factory, prio[A])) == A_SITES, wait, "the priority one (A)")
    _wait(lambda: set(_finished(factory, prio[B])) == B_SITES, 60, "the priority one (B)")
    own_a = _wait(lambda: _finished(factory, sent.own[A]).get("cum-loa-t1"), 60, "A's own")
    own_b = _wait(lambda: _finished(factory, sent.own[B]).get("dm-cum-loa-t3"), 60, "B's own")
    province_a = _finished(factory, prio[A])["cum-loa-t1"]
    province_b = _finished(factory, prio[B])["dm-cum-loa-t3"]
    if not province_a < own_a:
        raise CheckFailed("at Đắk Hà the province's priority bulletin did not go first")
    if not own_b < province_b:
        raise CheckFailed("at Đắk Mar the commune's own priority item did not go first")
    opens, closes = window
    if not opens <= province_a < closes:
        raise CheckFailed(f"the priority bulletin aired at {province_a}, outside the slot")
    with factory() as s:
        for site in B_SITES:
            got = set(s.scalars(select(Playback.announcement_id).where(Playback.site_id == site)))
            if normal[A] in got:
                raise CheckFailed(f"{site} in Đắk Mar was sent Đắk Hà's accepted bulletin")
        views = {}
        for bulletin_id in (sent.emergency, sent.normal, sent.priority):
            b = s.get(Bulletin, bulletin_id)
            assert b is not None
            views[b.priority] = {
                r.delivery.unit.code: (r.delivery.state, r.aired, r.sites)
                for r in commune_status(s, b)
            }
    expected = {
        "emergency": {A: ("sent", 3, 3), B: ("sent", 2, 2)},
        "normal": {A: ("accepted", 3, 3), B: ("declined", 0, 2)},
        "priority": {A: ("placed", 3, 3), B: ("placed", 2, 2)},
    }
    if views != expected:
        raise CheckFailed(f"the sender's view {views}, expected {expected}")
    return (
        "bulletins: emergency aired at 5 sites; normal accepted by Đắk Hà (3 sites) and "
        "declined by Đắk Mar; priority in the next slot at 5 sites, ahead of Đắk Hà's own "
        "priority item and after Đắk Mar's (its staff's choice)"
    )
