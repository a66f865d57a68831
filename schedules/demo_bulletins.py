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
from broadcaster.models import Announcement, Bulletin, Playback, Slot, User
from schedules import bulletins, workflow
from schedules.bulletin_status import commune_status
from schedules.recurrence import DEFAULT_TZ, to_local
from schedules.slots import SlotSpec, next_window

A, B = "62001", "62002"  # the demo's communes (schedules/demo_programme.yaml)
A_SITES = frozenset({"dai-xa", "cum-loa-t1", "cum-loa-t2"})
B_SITES = frozenset({"dm-cum-loa-t3", "dm-cum-loa-kt"})
SLOT_LEAD = timedelta(seconds=60)  # the check's slot opens this long after it is made
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


def _send(s: Session, render: Renderer, priority: str, title: str, now: datetime) -> Bulletin:
    """Written by the province's editor for both communes, approved by its approver."""
    editor = _user(s, "bientap")
    b = bulletins.write_bulletin(
        s,
        editor,
        title=title,
        body=f"{title}. Đề nghị bà con chú ý theo dõi.",
        priority=priority,
        commune_ids=[u.id for u in bulletins.target_communes(s, editor)],
        render=render,
        now=now,
    )
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
    (written, rendered and approved in transactions of their own: no write lock is held while
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
        workflow.approve(s, submitted, _user(s, f"pheduyet-{suffix}"), now=clock.now())
    return ann_id


def slot_window(now: datetime, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """Local wall-clock start and end of a slot opening ``SLOT_LEAD`` from now (just after
    midnight when it would span it: a slot is a window within one day)."""
    start = to_local(now + SLOT_LEAD, tz).replace(microsecond=0, tzinfo=None)
    if (start + SLOT_LENGTH).date() != start.date():
        start = datetime.combine((start + SLOT_LENGTH).date(), datetime.min.time())
        start += timedelta(seconds=30)
    return start, start + SLOT_LENGTH


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
        em_id = _send(s, render, "emergency", "Cảnh báo lũ quét", clock.now()).id
    with transaction(factory) as s:
        em = s.get(Bulletin, em_id)
        assert em is not None and em.emergency is not None
        bulletins.publish(s, em, commands, public_url)
        em_ann = em.emergency.announcement_id
    _wait(lambda: set(_finished(factory, em_ann)) >= A_SITES | B_SITES, 60, "the emergency")

    opens, closes = slot_window(clock.now())
    with transaction(factory) as s:
        s.add(Slot(name="Khung giờ kiểm tra", start=opens.time(), end=closes.time()))
    with factory() as s:  # the check's slot, or a demo slot that happens to open sooner
        slot = bulletins.next_slot(s, clock.now() + timedelta(seconds=15))
        assert slot is not None
        window = next_window(SlotSpec.of(slot), clock.now() + timedelta(seconds=15))
        assert window is not None
    own = {
        A: _own_priority(factory, render, "dh", "thon-1", slot.id, clock),
        B: _own_priority(factory, render, "dm", "dm-thon-3", slot.id, clock),
    }
    with transaction(factory) as s:
        normal = _send(s, render, "normal", "Lịch tiêm phòng gia súc", clock.now())
        by_code = {d.unit.code: d for d in normal.deliveries}
        now = clock.now()
        bulletins.accept(
            s, by_code[A], _user(s, "bientap-dh"), now=now, start_at=now + timedelta(seconds=20)
        )
        bulletins.decline(s, by_code[B], _user(s, "pheduyet-dm"), "Trùng lịch họp thôn", now=now)
        normal_id = normal.id
    with transaction(factory) as s:
        priority = _send(s, render, "priority", "Phòng chống dịch tả lợn", clock.now())
        by_code = {d.unit.code: d for d in priority.deliveries}
        bulletins.set_order(s, by_code[B], _user(s, "bientap-dm"), ahead=False, now=clock.now())
        priority_id = priority.id
    return Sent(em_id, normal_id, priority_id, own), (window.start, window.end)


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
