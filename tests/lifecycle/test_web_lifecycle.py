"""Edit, duplicate, withdraw, cancel one airing or the rest of a series, search and page the
list: through the web's forms, on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock, FakeClock
from broadcaster.db import transaction
from broadcaster.models import Announcement, Cancellation, Playback, ScheduleItem, Slot, User, Zone
from schedules.planner import materialize
from tests.programme_web.conftest import TZ, media_row
from tests.web.conftest import Auth, FakeRenderer

HORIZON = timedelta(days=3)


def _id_from(location: str) -> int:
    m = re.search(r"/announcements/(\d+)(/edit)?$", location)
    assert m, location
    return int(m[1])


def _ann(db: sessionmaker[Session], ann_id: int) -> Announcement:
    with db() as s:
        ann = s.get(Announcement, ann_id)
        assert ann is not None
        ann.schedule, ann.cancellations  # noqa: B018 - loaded before the session closes
        s.expunge_all()
        return ann


def _written_and_submitted(client: FlaskClient, auth: Auth, username: str = "bientap") -> int:
    auth.login(username)
    ann_id = _id_from(auth.create().headers["Location"])
    assert client.post(f"/announcements/{ann_id}/submit").status_code == 302
    auth.logout()
    return ann_id


def _airings(db: sessionmaker[Session], now: datetime, ann_id: int) -> set[str]:
    """The ids of the announcement's airings in the site plans (thon-1's loudspeakers)."""
    with db() as s:
        plans = materialize(s, now, HORIZON, "http://server")
    return {i.id for i in plans["cum-loa-t1"] if i.announcement_id == ann_id}


def _edit_form(auth: Auth, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Tiêm phòng (đã sửa)",
        "body": "Chiều mai, các hộ chăn nuôi mang gia súc ra nhà văn hóa thôn để tiêm phòng.",
        "zones": ["thon-1"],
        "priority": "normal",
        "repeat": "2",
        "start_at": auth.local_input(timedelta(hours=2)),
    }
    data.update(overrides)
    return data


def test_edit_a_rejected_announcement_then_submit_it(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], renderer: FakeRenderer
) -> None:
    ann_id = _written_and_submitted(client, auth)
    auth.login("pheduyet")
    client.post(f"/announcements/{ann_id}/reject", data={"reason": "Sai giờ họp"})
    auth.logout()
    auth.login("bientap")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert f'href="/announcements/{ann_id}/edit"' in page
    form = client.get(f"/announcements/{ann_id}/edit").get_data(as_text=True)
    assert "Sửa: Tiêm phòng cho đàn gia súc" in form and "Sai giờ họp" in form
    assert "Sáng mai, các hộ chăn nuôi" in form  # the text, filled in
    r = client.post(f"/announcements/{ann_id}/edit", data=_edit_form(auth))
    assert r.status_code == 302, r.get_data(as_text=True)
    ann = _ann(db, ann_id)
    assert ann.status == "rejected" and ann.title == "Tiêm phòng (đã sửa)"
    assert ann.media_sha256 is None  # what is said changed: the old audio is gone
    client.post(f"/announcements/{ann_id}/submit")
    ann = _ann(db, ann_id)
    assert ann.status == "submitted" and renderer.texts[-1].startswith("Chiều mai")


def test_an_edit_after_approval_goes_back_for_approval(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], renderer: FakeRenderer, clock: Clock
) -> None:
    ann_id = _written_and_submitted(client, auth)
    auth.login("pheduyet")
    when = auth.local_input(timedelta(hours=1))
    assert client.post(f"/announcements/{ann_id}/approve", data={"start_at": when}).status_code
    auth.logout()
    assert _ann(db, ann_id).status == "approved"
    assert _airings(db, clock.now(), ann_id)
    auth.login("bientap")
    r = client.post(f"/announcements/{ann_id}/edit", data=_edit_form(auth), follow_redirects=True)
    assert "chờ duyệt lại" in r.get_data(as_text=True)
    ann = _ann(db, ann_id)
    assert ann.status == "submitted" and ann.approver_id is None
    assert renderer.texts[-1].startswith("Chiều mai")  # rendered again, ready to hear
    assert not _airings(db, clock.now(), ann_id)  # nothing edited airs unapproved


def test_a_draft_that_cannot_be_read_out_says_so_and_stays_editable(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], renderer: FakeRenderer
) -> None:
    real = renderer.__class__.__call__

    def refuse(self: FakeRenderer, text: str, **kwargs: object) -> object:
        if text.strip(" .") == "":
            raise ValueError("announcement text has nothing to say once normalized")
        return real(self, text, **kwargs)  # type: ignore[arg-type]

    renderer.__class__.__call__ = refuse  # type: ignore[method-assign]
    try:
        auth.login("bientap")
        ann_id = _id_from(auth.create(body="...").headers["Location"])
        page = client.post(f"/announcements/{ann_id}/submit", follow_redirects=True)
        text = page.get_data(as_text=True)
        assert "Nội dung không có gì để đọc: hãy viết thành lời." in text
        assert "nothing to say" not in text
        assert f'href="/announcements/{ann_id}/edit"' in text
        assert _ann(db, ann_id).status == "draft"
        r = client.post(f"/announcements/{ann_id}/edit", data=_edit_form(auth))
        assert r.status_code == 302
        client.post(f"/announcements/{ann_id}/submit")
        assert _ann(db, ann_id).status == "submitted"
    finally:
        renderer.__class__.__call__ = real  # type: ignore[method-assign]


def test_only_the_author_edits_and_a_withdrawn_one_is_not_editable(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session]
) -> None:
    auth.login("bientap")
    ann_id = _id_from(auth.create().headers["Location"])
    auth.logout()
    auth.login("pheduyet")
    assert client.get(f"/announcements/{ann_id}/edit").status_code == 403  # not an editor role
    auth.logout()
    auth.login("bientap")
    client.post(f"/announcements/{ann_id}/withdraw", data={"reason": "Không cần nữa"})
    assert _ann(db, ann_id).status == "cancelled"
    r = client.post(f"/announcements/{ann_id}/edit", data=_edit_form(auth), follow_redirects=True)
    assert "Không thể sửa bản tin này lúc này." in r.get_data(as_text=True)
    assert _ann(db, ann_id).title == "Tiêm phòng cho đàn gia súc"


def test_duplicate_makes_a_draft_of_ones_own(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session]
) -> None:
    ann_id = _written_and_submitted(client, auth, "bientap-dh")
    auth.login("bientap")  # the province's editor: the commune's announcement is in their units
    r = client.post(f"/announcements/{ann_id}/duplicate")
    assert r.status_code == 302 and r.headers["Location"].endswith("/edit")
    copy = _ann(db, _id_from(r.headers["Location"]))
    original = _ann(db, ann_id)
    assert copy.id != ann_id and copy.status == "draft" and copy.media_sha256 is None
    assert (copy.title, copy.body, copy.repeat) == (original.title, original.body, original.repeat)
    with db() as s:
        author = s.get(User, copy.author_id)
        assert author is not None and author.username == "bientap"


def _approved_series(db: sessionmaker[Session], clock: Clock, days: int = 5) -> int:
    """An approved announcement airing every day at 06:00 local from tomorrow, ``days`` times."""
    first = clock.now().astimezone(TZ).replace(hour=6, minute=0, second=0, microsecond=0)
    first += timedelta(days=1)
    with transaction(db) as s:
        editor = s.scalar(select(User).where(User.username == "bientap"))
        approver = s.scalar(select(User).where(User.username == "pheduyet"))
        assert editor is not None and approver is not None
        ann = Announcement(
            title="Lịch tiêm phòng cả tuần",
            body="Nội dung",
            status="approved",
            author_id=editor.id,
            approver_id=approver.id,
            decided_at=clock.now(),
            media=media_row(s, 30, "series"),
            zones=list(s.scalars(select(Zone).where(Zone.id == "thon-1"))),
        )
        ann.schedule.append(ScheduleItem(start_at=first, rrule=f"FREQ=DAILY;COUNT={days}"))
        s.add(ann)
        s.flush()
        return ann.id


def _airing(db: sessionmaker[Session], ann_id: int, n: int) -> str:
    """The form value of the n-th airing (0: the first)."""
    with db() as s:
        item = s.scalars(select(ScheduleItem).where(ScheduleItem.announcement_id == ann_id)).one()
        start = item.start_at + timedelta(days=n)
        return f"{item.id}:{int(start.timestamp())}"


def test_cancel_one_airing_then_the_rest_then_withdraw(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    ann_id = _approved_series(db, clock)
    before = _airings(db, clock.now(), ann_id)
    assert len(before) == 3  # tomorrow, the day after, and the third day within 3 days ahead
    auth.login("pheduyet")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert "Hằng ngày" in page and "5 lượt phát" in page  # the recurrence, in words
    assert page.count("<li>") >= 5 and "Hủy lượt phát" in page

    second = _airing(db, ann_id, 1)
    r = client.post(f"/announcements/{ann_id}/cancel", data={"airing": second, "reason": ""})
    assert r.status_code == 400 and "Cần ghi lý do." in r.get_data(as_text=True)
    assert len(_airings(db, clock.now(), ann_id)) == 3

    r = client.post(
        f"/announcements/{ann_id}/cancel",
        data={"airing": second, "scope": "airing", "reason": "Trùng lịch họp thôn"},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert "Đã hủy lượt phát" in page and "Trùng lịch họp thôn" in page
    assert "Trần Văn Hùng (phê duyệt)" in page  # who did it
    after = _airings(db, clock.now(), ann_id)
    assert len(after) == 2 and after < before
    assert f"s{second.replace(':', '-')}" not in after

    r = client.post(
        f"/announcements/{ann_id}/cancel",
        data={"airing": _airing(db, ann_id, 2), "scope": "rest", "reason": "Đã đủ"},
    )
    assert r.status_code == 302
    assert len(_airings(db, clock.now(), ann_id)) == 1  # only tomorrow's is left
    with db() as s:
        kinds = s.scalars(
            select(Cancellation.kind)
            .where(Cancellation.announcement_id == ann_id)
            .order_by(Cancellation.id)
        ).all()
        assert kinds == ["airing", "rest"]

    r = client.post(f"/announcements/{ann_id}/withdraw", data={"reason": "Hủy cả chương trình"})
    assert r.status_code == 302
    assert not _airings(db, clock.now(), ann_id)
    assert _ann(db, ann_id).status == "cancelled"
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert "đã thu hồi bản tin" in page and "Hủy cả chương trình" in page


def test_cancelling_forgets_the_expected_airings_in_the_log(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    ann_id = _approved_series(db, clock, days=2)
    airings = sorted(_airings(db, clock.now(), ann_id))
    with transaction(db) as s:
        for item_id in airings:
            s.add(
                Playback(
                    site_id="cum-loa-t1",
                    item_id=item_id,
                    announcement_id=ann_id,
                    scheduled_at=clock.now() + timedelta(days=1),
                )
            )
    auth.login("pheduyet")
    client.post(
        f"/announcements/{ann_id}/cancel",
        data={"airing": _airing(db, ann_id, 0), "scope": "airing", "reason": "Mưa to"},
    )
    with db() as s:
        left = s.scalars(select(Playback.item_id).where(Playback.announcement_id == ann_id)).all()
    assert left == airings[1:]


def test_an_officer_cannot_cancel_and_a_past_airing_cannot_be(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: Clock
) -> None:
    ann_id = _approved_series(db, clock)
    auth.login("canbo")
    r = client.post(f"/announcements/{ann_id}/withdraw", data={"reason": "x"})
    assert r.status_code == 403
    auth.logout()
    auth.login("pheduyet")
    with db() as s:
        item = s.scalars(select(ScheduleItem).where(ScheduleItem.announcement_id == ann_id)).one()
        past = f"{item.id}:{int((clock.now() - timedelta(hours=1)).timestamp())}"
    r = client.post(f"/announcements/{ann_id}/cancel", data={"airing": past, "reason": "x"})
    assert r.status_code == 400  # not one of the airings offered
    assert _ann(db, ann_id).cancellations == []


def test_search_and_pages(client: FlaskClient, auth: Auth, db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        editor = s.scalar(select(User).where(User.username == "bientap"))
        assert editor is not None
        zone = s.get(Zone, "thon-1")
        for n in range(60):
            title = f"Họp dân số {n:02d}" if n % 2 else f"Diệt chuột đợt {n:02d}"
            ann = Announcement(title=title, body="Nội dung", author_id=editor.id, zones=[zone])
            ann.schedule.append(ScheduleItem(start_at=datetime(2030, 3, 5, 1, tzinfo=UTC)))
            s.add(ann)
        total = s.scalar(select(func.count()).select_from(Announcement))
    auth.login("bientap")
    first = client.get("/announcements/").get_data(as_text=True)
    assert first.count('data-label="Tiêu đề"') == 50
    assert f"Trang 1/{-(-total // 50)}" in first and 'rel="next"' in first
    second = client.get("/announcements/?page=2").get_data(as_text=True)
    assert second.count('data-label="Tiêu đề"') == total - 50 and 'rel="prev"' in second
    found = client.get("/announcements/?q=diệt chuột").get_data(as_text=True)
    assert found.count('data-label="Tiêu đề"') == 30 and "Họp dân" not in found
    none = client.get("/announcements/?q=100%25").get_data(as_text=True)
    assert "Không có bản tin nào khớp" in none
    assert client.get("/announcements/?page=abc").status_code == 200


def test_the_default_airing_is_the_next_slot(
    client: FlaskClient, auth: Auth, db: sessionmaker[Session], clock: FakeClock
) -> None:
    """Now is 08:00 on Monday 4 March 2030: the next slot is today's 11:00 (the 06:00 one has
    passed); an item whose time passed before the approver opened it is offered that slot."""
    with transaction(db) as s:
        s.add(Slot(name="Buổi sáng", start=time(6, 0), end=time(6, 30)))
        s.add(Slot(name="Buổi trưa", start=time(11, 0), end=time(11, 30)))
    auth.login("bientap")
    page = client.get("/announcements/new").get_data(as_text=True)
    assert 'value="2030-03-04T11:00"' in page
    ann_id = _id_from(auth.create(start_at="2030-03-04T08:30").headers["Location"])
    client.post(f"/announcements/{ann_id}/submit")
    auth.logout()
    clock.advance(timedelta(hours=1))  # 09:00: its 08:30 has passed
    auth.login("pheduyet")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert re.search(r'id="start_at"[^>]*value="2030-03-04T11:00"', page) or re.search(
        r'value="2030-03-04T11:00"[^>]*id="start_at"', page
    )
