"""Bulletins down the tree (issue 11), on SQLite and PostgreSQL: written at the province,
approved by a second person there, then by priority: the communes' inboxes (accept into a slot
or a time, or decline with a reason), the next slot ahead of the commune's own items (the
commune may put it behind its own priority items), or an emergency at once. Who and when are
logged; the sender sees each commune's state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.render import Rendered
from broadcaster.cli import main
from broadcaster.commands import CommandPublisher
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.merge import merge_units
from broadcaster.models import (
    Announcement,
    Bulletin,
    BulletinDelivery,
    Emergency,
    Playback,
    Slot,
    User,
)
from broadcaster.publisher import MemoryPublisher
from broadcaster.scope import Scope
from broadcaster.units import add_unit, by_code
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import bulletins, workflow
from schedules.bulletin_status import commune_status
from schedules.planner import materialize
from schedules.programme_import import import_demo
from schedules.workflow import NotAllowed, WorkflowError

# 05:00 in Kon Tum on Tuesday 8 December 2026; the test's slot opens at 05:50 (22:50 UTC).
NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
SLOT_OPENS = datetime(2026, 12, 7, 22, 50, tzinfo=UTC)
A_SITES = {"dai-xa", "cum-loa-t1", "cum-loa-t2"}
B_SITES = {"dm-cum-loa-t3", "dm-cum-loa-kt"}


@dataclass
class TextRenderer:
    """A renderer that stores no audio: a Media row per text is all the services need."""

    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered:
        sha = hashlib.sha256(f"{repeat}:{text}".encode()).hexdigest()
        return Rendered(sha256=sha, ext="mp3", size=1000, duration_ms=20_000, engine="fake")


@pytest.fixture
def session(any_db_url: str) -> Iterator[Session]:
    engine = make_engine(any_db_url)
    with session_factory(engine)() as s:
        import_demo(s)
        s.add(Slot(name="Sáng sớm", start=time(5, 50), end=time(7, 0)))  # before the demo's 06:00
        s.flush()
        yield s
    engine.dispose()


def user(s: Session, username: str) -> User:
    return s.scalars(select(User).where(User.username == username)).one()


def communes(s: Session) -> dict[str, int]:
    return {u.code: u.id for u in bulletins.target_communes(s, user(s, "bientap"))}


def write(s: Session, priority: str, codes: tuple[str, ...] = ("62001", "62002")) -> Bulletin:
    ids = communes(s)
    return bulletins.write_bulletin(
        s,
        user(s, "bientap"),
        title=f"Tin tỉnh ({priority})",
        body="Ủy ban nhân dân tỉnh thông báo lịch tiêm phòng.",
        priority=priority,
        commune_ids=[ids[c] for c in codes],
        render=TextRenderer(),
        now=NOW,
    )


def delivery(b: Bulletin, code: str) -> BulletinDelivery:
    return next(d for d in b.deliveries if d.unit.code == code)


def plan_order(s: Session, site: str) -> list[int]:
    items = materialize(s, NOW, timedelta(hours=12), "http://x")[site]
    return [i.announcement_id for i in sorted(items, key=lambda i: i.start)]


def own(s: Session, username: str, approver: str, title: str, priority: str) -> int:
    """The commune's own item in the morning slot, approved a minute ago."""
    slot = s.scalars(select(Slot).where(Slot.name == "Sáng sớm")).one()
    ann = workflow.create_announcement(
        s,
        user(s, username),
        title=title,
        body=f"{title}: thông báo của xã.",
        zone_ids=["thon-1"],
        start_at=NOW + timedelta(minutes=5),
        slot_id=slot.id,
        priority=priority,
        now=NOW,
    )
    workflow.submit(s, ann, user(s, username), TextRenderer(), now=NOW)
    workflow.approve(s, ann, user(s, approver), now=NOW - timedelta(minutes=1))
    return ann.id


def test_four_eyes_at_the_sending_unit(session: Session) -> None:
    s = session
    with pytest.raises(NotAllowed) as exc:
        bulletins.write_bulletin(
            s,
            user(s, "bientap-dh"),
            title="x",
            body="y",
            priority="normal",
            commune_ids=[communes(s)["62002"]],
            render=TextRenderer(),
            now=NOW,
        )
    assert exc.value.code == "not-upper-unit"
    with pytest.raises(WorkflowError) as werr:
        bulletins.write_bulletin(
            s,
            user(s, "bientap"),
            title="x",
            body="y",
            priority="normal",
            commune_ids=[user(s, "bientap").unit_id],  # the province itself is no target
            render=TextRenderer(),
            now=NOW,
        )
    assert werr.value.code == "unknown-communes"
    b = write(s, "normal")
    assert {d.state for d in b.deliveries} == {"pending"}
    for who, code in (("bientap", "cannot-approve"), ("pheduyet-dh", "not-sending-unit")):
        with pytest.raises(NotAllowed) as exc:
            bulletins.approve_bulletin(s, b, user(s, who), now=NOW)
        assert exc.value.code == code
    # The author, even as an admin, is not the second person.
    s.add(b)
    b.author_id = user(s, "quantri").id
    with pytest.raises(NotAllowed) as exc:
        bulletins.approve_bulletin(s, b, user(s, "quantri"), now=NOW)
    assert exc.value.code == "own-announcement"
    b.author_id = user(s, "bientap").id
    assert not Scope.of(s, user(s, "bientap-dh")).get(s, BulletinDelivery, b.deliveries[0].id)
    bulletins.reject_bulletin(s, b, user(s, "pheduyet"), "Sai ngày", now=NOW)
    assert (b.status, b.reject_reason) == ("rejected", "Sai ngày")
    assert {d.state for d in b.deliveries} == {"pending"}  # never reached an inbox
    with pytest.raises(WorkflowError):
        bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)


def test_normal_arrives_in_the_inboxes_and_each_commune_decides(session: Session) -> None:
    s = session
    b = write(s, "normal")
    bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
    a, m = delivery(b, "62001"), delivery(b, "62002")
    assert (a.state, m.state) == ("inbox", "inbox")
    assert a.received_at == NOW and a.announcement is None
    assert plan_order(s, "cum-loa-t1") == []  # nothing airs before the commune accepts
    # Only the commune's own staff decide: not the other commune's, not the province's.
    a_scope = Scope.of(s, user(s, "bientap-dh"))
    assert a_scope.get(s, BulletinDelivery, a.id) is a
    assert a_scope.get(s, BulletinDelivery, m.id) is None
    assert a_scope.get(s, Bulletin, b.id) is None
    for who in ("bientap-dh", "bientap", "pheduyet"):
        with pytest.raises(NotAllowed) as exc:
            bulletins.decline(s, m, user(s, who), "Không", now=NOW)
        assert exc.value.code == "not-commune-staff"
    with pytest.raises(NotAllowed):
        bulletins.accept(s, a, user(s, "canbo-dh"), now=NOW, slot_id=1)  # officers only read
    with pytest.raises(WorkflowError) as werr:
        bulletins.accept(s, a, user(s, "bientap-dh"), now=NOW)
    assert werr.value.code == "slot-or-time"
    with pytest.raises(WorkflowError) as werr:
        bulletins.decline(s, m, user(s, "pheduyet-dm"), "  ", now=NOW)
    assert werr.value.code == "decline-reason-required"

    slot = s.scalars(select(Slot).where(Slot.name == "Sáng sớm")).one()
    later = NOW + timedelta(minutes=2)
    ann = bulletins.accept(s, a, user(s, "bientap-dh"), now=later, slot_id=slot.id)
    bulletins.decline(s, m, user(s, "pheduyet-dm"), "Trùng lịch họp thôn", now=later)
    assert (a.state, a.decided_by.username, a.decided_at) == ("accepted", "bientap-dh", later)
    assert (m.state, m.decided_by.username, m.reason) == (
        "declined",
        "pheduyet-dm",
        "Trùng lịch họp thôn",
    )
    assert ann.status == "approved" and ann.unit.code == "62001"
    assert {z.id for z in ann.zones} == {"thon-1", "thon-2", "thon-5"}
    with pytest.raises(WorkflowError) as werr:
        bulletins.accept(s, a, user(s, "bientap-dh"), now=later, slot_id=slot.id)
    assert werr.value.code == "delivery-state"
    # The accepted copy is an ordinary airing: the planner sends it to A's sites only.
    plans = materialize(s, NOW, timedelta(hours=12), "http://x")
    for site in A_SITES:
        assert [(i.announcement_id, i.start) for i in plans[site]] == [(ann.id, SLOT_OPENS)]
    assert all(not plans.get(site) for site in B_SITES)
    # The sender's view, per commune.
    s.add(Playback(site_id="cum-loa-t1", item_id="x", announcement_id=ann.id, status="finished"))
    s.flush()
    rows = {r.delivery.unit.code: r for r in commune_status(s, b)}
    assert (rows["62001"].scheduled_for, rows["62001"].aired, rows["62001"].sites) == (
        SLOT_OPENS,
        1,
        3,
    )
    assert rows["62001"].coverage == pytest.approx(1 / 3)
    assert (rows["62002"].delivery.reason, rows["62002"].scheduled_for) == (
        "Trùng lịch họp thôn",
        None,
    )


def test_accepting_at_a_time(session: Session) -> None:
    s = session
    b = write(s, "normal", ("62001",))
    bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
    with pytest.raises(WorkflowError) as werr:
        bulletins.accept(s, b.deliveries[0], user(s, "bientap-dh"), now=NOW, start_at=NOW)
    assert werr.value.code == "too-late"
    at = NOW + timedelta(hours=3)
    bulletins.accept(s, b.deliveries[0], user(s, "pheduyet-dh"), now=NOW, start_at=at)
    assert commune_status(s, b)[0].scheduled_for == at
    assert [i.start for i in materialize(s, NOW, timedelta(hours=12), "u")["cum-loa-t1"]] == [at]


def test_priority_goes_ahead_in_the_next_slot_until_the_commune_reorders(
    session: Session,
) -> None:
    s = session
    own_normal = own(s, "bientap-dh", "pheduyet-dh", "Họp thôn", "normal")
    own_priority = own(s, "bientap-dh", "pheduyet-dh", "Phòng dịch", "priority")
    b = write(s, "priority")
    bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
    a, m = delivery(b, "62001"), delivery(b, "62002")
    assert (a.state, m.state) == ("placed", "placed")
    assert a.announcement is not None and m.announcement is not None
    province_a, province_b = a.announcement.id, m.announcement.id
    # Ahead of the commune's own items, normal and priority, in the slot that opens next.
    assert plan_order(s, "cum-loa-t1") == [province_a, own_priority, own_normal]
    assert plan_order(s, "dm-cum-loa-t3") == [province_b]
    rows = {r.delivery.unit.code: r for r in commune_status(s, b)}
    assert rows["62001"].scheduled_for == SLOT_OPENS == rows["62002"].scheduled_for
    # A's staff put their own priority item first; still ahead of their normal one.
    with pytest.raises(NotAllowed):
        bulletins.set_order(s, a, user(s, "bientap-dm"), ahead=False, now=NOW)
    bulletins.set_order(s, a, user(s, "pheduyet-dh"), ahead=False, now=NOW)
    assert (a.decided_by.username, a.decided_at) == ("pheduyet-dh", NOW)
    assert plan_order(s, "cum-loa-t1") == [own_priority, province_a, own_normal]
    bulletins.set_order(s, a, user(s, "bientap-dh"), ahead=True, now=NOW)
    assert plan_order(s, "cum-loa-t1") == [province_a, own_priority, own_normal]


def test_priority_needs_a_slot(session: Session) -> None:
    s = session
    for slot in s.scalars(select(Slot)):
        s.delete(slot)
    b = write(s, "priority")
    with pytest.raises(WorkflowError) as werr:
        bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
    assert werr.value.code == "no-slot"
    assert b.status == "submitted"


def test_emergency_is_sent_at_once_to_every_target_site(session: Session) -> None:
    s = session
    b = write(s, "emergency")
    bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
    em = b.emergency
    assert em is not None and em.sent_by.username == "pheduyet"
    assert em.announcement.author.username == "bientap"
    assert {d.state for d in b.deliveries} == {"sent"}
    assert {d.announcement_id for d in b.deliveries} == {em.announcement_id}
    sent = MemoryPublisher()
    commands = CommandPublisher(Signer.generate(), sent, Topics("loa/v1"))
    assert bulletins.publish(s, b, commands, "http://x") == em.command_id
    topics = {t for t, *_ in sent.sent}
    assert topics == {
        f"loa/v1/zones/{z}/cmd" for z in ("thon-1", "thon-2", "thon-5", "dm-thon-3", "dm-kon-teo")
    }
    assert s.scalar(select(Emergency.id).where(Emergency.id == em.id)) == em.id
    plans = materialize(s, NOW, timedelta(hours=1), "http://x")
    for site in A_SITES | B_SITES:
        assert [i.priority for i in plans[site]] == ["emergency"]
    assert s.get(Announcement, em.announcement_id).unit.code == "62"  # type: ignore[union-attr]


def test_a_merge_moves_the_open_inbox_to_the_merged_commune(session: Session) -> None:
    """Đắk Hà and Đắk Mar merge into a new commune: the open inbox item moves there (once per
    bulletin) and its staff, now the merged commune's, decide it; a decided one stays put."""
    s = session
    decided = write(s, "normal")
    bulletins.approve_bulletin(s, decided, user(s, "pheduyet"), now=NOW)
    bulletins.decline(s, delivery(decided, "62001"), user(s, "bientap-dh"), "Không", now=NOW)
    open_one = write(s, "normal")
    bulletins.approve_bulletin(s, open_one, user(s, "pheduyet"), now=NOW)
    province = by_code(s, "62")
    merged = add_unit(s, "commune", "62009", "Xã Đắk Hà Mar", province)
    a, m = by_code(s, "62001"), by_code(s, "62002")
    result = merge_units(s, [a, m], merged, NOW)
    s.expire_all()
    assert result.moved["bulletin_deliveries"] == 2  # decided's Đắk Mar copy and open_one's
    assert [d.unit.code for d in open_one.deliveries] == ["62009"]
    assert delivery(decided, "62001").state == "declined"  # history keeps its unit
    bulletins.accept(
        s, open_one.deliveries[0], user(s, "bientap-dh"), now=NOW, start_at=NOW + timedelta(hours=1)
    )
    assert {z.id for z in open_one.deliveries[0].announcement.zones} == {  # type: ignore[union-attr]
        "thon-1",
        "thon-2",
        "thon-5",
        "dm-thon-3",
        "dm-kon-teo",
    }


def test_the_cli_lists_and_shows_each_commune(
    any_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = make_engine(any_db_url)
    with transaction(session_factory(engine)) as s:
        import_demo(s)
        b = write(s, "normal")
        bulletins.approve_bulletin(s, b, user(s, "pheduyet"), now=NOW)
        bulletins.decline(s, delivery(b, "62002"), user(s, "bientap-dm"), "Trùng lịch", now=NOW)
        bulletin_id = b.id
    engine.dispose()
    monkeypatch.setenv("BROADCASTER_DATABASE_URL", any_db_url)
    monkeypatch.setenv("BROADCASTER_MEDIA_DIR", str(tmp_path / "media"))
    runner = CliRunner()
    listed = runner.invoke(main, ["bulletins", "list"], catch_exceptions=False)
    assert listed.exit_code == 0
    assert "Tin tỉnh (normal)" in listed.output and "1 declined, 1 inbox" in listed.output
    shown = runner.invoke(main, ["bulletins", "show", str(bulletin_id)], catch_exceptions=False)
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert "62001    inbox" in lines[1] and "aired 0/3" in lines[1]
    assert "62002    declined  by bientap-dm 2026-12-08 05:00" in lines[2]
    assert lines[2].endswith("(Trùng lịch)")
    missing = runner.invoke(main, ["bulletins", "show", "999"], catch_exceptions=False)
    assert missing.exit_code == 1
