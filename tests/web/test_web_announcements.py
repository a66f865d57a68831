"""Write → submit → approve or reject, through the UI, with the workflow's rules kept."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import Announcement


def _ann(db: sessionmaker[Session], ann_id: int | None = None) -> Announcement:
    with db() as s:
        query = select(Announcement).order_by(Announcement.id.desc())
        if ann_id is not None:
            query = query.where(Announcement.id == ann_id)
        ann = s.scalars(query).first()
        assert ann is not None
        s.expunge_all()
        return ann


def _id_from(location: str) -> int:
    m = re.search(r"/announcements/(\d+)$", location)
    assert m, location
    return int(m[1])


def _draft_and_submit(client: FlaskClient, auth, username: str = "bientap") -> int:
    auth.login(username)
    r = auth.create()
    assert r.status_code == 302, r.get_data(as_text=True)
    ann_id = _id_from(r.headers["Location"])
    r = client.post(f"/announcements/{ann_id}/submit")
    assert r.status_code == 302
    auth.logout()
    return ann_id


def test_new_form_defaults_to_five_minutes_ahead_without_slots(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    from sqlalchemy import delete

    from broadcaster.models import Slot

    with db() as s, s.begin():
        s.execute(delete(Slot))  # a commune with no daily programme slots
    auth.login("bientap")
    page = client.get("/announcements/new").get_data(as_text=True)
    assert "Soạn bản tin" in page and "Gửi duyệt" not in page
    for label in ("+1 phút", "+5 phút", "+1 giờ", "Thôn 1", "Thôn 2"):
        assert label in page
    value = re.search(r'type="datetime-local" value="([^"]+)"', page)
    assert value
    soon, later = auth.local_input(timedelta(minutes=4)), auth.local_input(timedelta(minutes=7))
    assert soon < value[1] <= later


def test_new_form_defaults_to_the_next_slot(client: FlaskClient, auth) -> None:
    """The demo's slots open at 06:00, 11:00 and 17:00: the default is the first of them at
    least five minutes ahead (issue 13), whatever the time of day the test runs."""
    auth.login("bientap")
    page = client.get("/announcements/new").get_data(as_text=True)
    value = re.search(r'type="datetime-local" value="([^"]+)"', page)
    assert value
    ahead = auth.local_input(timedelta(minutes=5))  # this minute: the rule's edge
    starts = [
        auth.local_input(timedelta(days=d))[:11] + f"{slot:02d}:00"
        for d in (0, 1)
        for slot in (6, 11, 17)
    ]
    expected = min(t for t in starts if t > ahead)
    assert value[1] == expected or (value[1] == ahead and ahead in starts)


def test_editor_creates_and_submits(
    client: FlaskClient, auth, db: sessionmaker[Session], renderer
) -> None:
    auth.login("bientap")
    r = auth.create(zones=["thon-1", "thon-2"], priority="priority")
    assert r.status_code == 302
    ann_id = _id_from(r.headers["Location"])
    ann = _ann(db, ann_id)
    assert ann.status == "draft" and ann.media_sha256 is None
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert "Bản nháp" in page and "Gửi duyệt" in page and "<audio" not in page

    r = client.post(f"/announcements/{ann_id}/submit", follow_redirects=True)
    page = r.get_data(as_text=True)
    ann = _ann(db, ann_id)
    assert ann.status == "submitted" and ann.tts_engine == "fake"
    assert renderer.texts == [ann.body]
    assert f'src="/media/{ann.media_sha256}.mp3"' in page
    assert "giọng đọc: fake" in page and "0:01" in page
    assert "Chờ duyệt" in page
    assert 'name="approve"' not in page  # the author is never offered approval
    with client.get(f"/media/{ann.media_sha256}.mp3") as media:
        assert media.status_code == 200 and media.mimetype == "audio/mpeg"


def test_render_failure_is_shown_and_keeps_the_draft(
    client: FlaskClient, auth, db: sessionmaker[Session], renderer
) -> None:
    renderer.fail = True
    auth.login("bientap")
    ann_id = _id_from(auth.create().headers["Location"])
    page = client.post(f"/announcements/{ann_id}/submit", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Không tạo được âm thanh" in page
    assert _ann(db, ann_id).status == "draft"


def test_form_errors_are_translated(client: FlaskClient, auth, db: sessionmaker[Session]) -> None:
    auth.login("bientap")
    r = auth.create(zones=[], title="", start_at=auth.local_input(timedelta(minutes=-5)))
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Hãy chọn ít nhất một thôn/khu vực." in page
    assert "Mục này là bắt buộc." in page
    assert "Thời gian phát phải ở trong tương lai." in page
    r = auth.create(zones=["no-such-zone"])
    assert "không phải là lựa chọn hợp lệ" in r.get_data(as_text=True)
    r = auth.create(start_at="tomorrow")
    assert "Thời gian không hợp lệ." in r.get_data(as_text=True)
    with db() as s:
        assert s.scalar(select(Announcement.id)) is None


def test_approver_approves_and_it_is_scheduled(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    ann_id = _draft_and_submit(client, auth)
    auth.login("pheduyet")
    page = client.get("/announcements/?status=submitted").get_data(as_text=True)
    assert f"/announcements/{ann_id}" in page
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert 'name="approve"' in page and 'name="reject"' in page
    prefilled = re.search(r'id="start_at"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*id="start_at"', page
    )
    assert prefilled
    new_time = auth.local_input(timedelta(hours=2))
    r = client.post(f"/announcements/{ann_id}/approve", data={"start_at": new_time})
    assert r.status_code == 302
    ann = _ann(db, ann_id)
    assert ann.status == "approved"
    schedule = client.get("/schedule/").get_data(as_text=True)
    assert "Tiêm phòng cho đàn gia súc" in schedule
    assert "Cụm loa thôn 1 - ngã ba chợ" in schedule
    local = new_time  # shown as dd/mm/YYYY HH:MM
    shown = f"{local[8:10]}/{local[5:7]}/{local[0:4]} {local[11:16]}"
    assert shown in schedule


def test_approving_a_past_time_is_refused_clearly(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    ann_id = _draft_and_submit(client, auth)
    auth.login("pheduyet")
    r = client.post(
        f"/announcements/{ann_id}/approve",
        data={"start_at": auth.local_input(timedelta(minutes=-10))},
    )
    assert r.status_code == 409
    assert "Thời gian phát đã qua hoặc quá sát" in r.get_data(as_text=True)
    ann = _ann(db, ann_id)
    assert ann.status == "submitted"


def test_editor_cannot_approve(client: FlaskClient, auth, db: sessionmaker[Session]) -> None:
    ann_id = _draft_and_submit(client, auth)
    auth.login("bientap")
    r = client.post(
        f"/announcements/{ann_id}/approve",
        data={"start_at": auth.local_input(timedelta(hours=1))},
    )
    assert r.status_code == 403
    assert _ann(db, ann_id).status == "submitted"


def test_author_cannot_approve_own_even_by_forged_post(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    # The admin may both write and approve, but never their own announcement.
    ann_id = _draft_and_submit(client, auth, "quantri")
    auth.login("quantri")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert 'name="approve"' not in page
    r = client.post(
        f"/announcements/{ann_id}/approve",
        data={"start_at": auth.local_input(timedelta(hours=1))},
    )
    assert r.status_code == 403
    assert "Không được phép" in r.get_data(as_text=True)
    r = client.post(f"/announcements/{ann_id}/reject", data={"reason": "tự từ chối"})
    assert r.status_code == 403
    ann = _ann(db, ann_id)
    assert ann.status == "submitted" and ann.approver_id is None


def test_reject_requires_a_reason(client: FlaskClient, auth, db: sessionmaker[Session]) -> None:
    ann_id = _draft_and_submit(client, auth)
    auth.login("pheduyet")
    r = client.post(f"/announcements/{ann_id}/reject", data={"reason": "   "})
    assert r.status_code == 400
    assert "Cần ghi lý do khi từ chối." in r.get_data(as_text=True)
    assert _ann(db, ann_id).status == "submitted"

    r = client.post(f"/announcements/{ann_id}/reject", data={"reason": "Sai ngày tiêm phòng"})
    assert r.status_code == 302
    ann = _ann(db, ann_id)
    assert ann.status == "rejected" and ann.reject_reason == "Sai ngày tiêm phòng"
    auth.logout()
    auth.login("bientap")
    page = client.get(f"/announcements/{ann_id}").get_data(as_text=True)
    assert "Sai ngày tiêm phòng" in page and "Bị từ chối" in page and "Gửi duyệt" in page


def test_deciding_twice_shows_a_translated_error(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    ann_id = _draft_and_submit(client, auth)
    auth.login("pheduyet")
    client.post(f"/announcements/{ann_id}/reject", data={"reason": "Chưa rõ"})
    r = client.post(f"/announcements/{ann_id}/reject", data={"reason": "Lần nữa"})
    assert r.status_code == 409
    assert "Chỉ bản tin đang chờ duyệt mới từ chối được" in r.get_data(as_text=True)


def test_list_filters_by_status(client: FlaskClient, auth) -> None:
    submitted = _draft_and_submit(client, auth)
    auth.login("bientap")
    draft = _id_from(auth.create(title="Họp dân thôn 2").headers["Location"])
    page = client.get("/announcements/?status=draft").get_data(as_text=True)
    assert f'/announcements/{draft}"' in page and f'/announcements/{submitted}"' not in page
    page = client.get("/announcements/").get_data(as_text=True)
    assert f'/announcements/{draft}"' in page and f'/announcements/{submitted}"' in page
    assert client.get("/announcements/?status=bogus").status_code == 200
    assert client.get("/announcements/999999").status_code == 404


def _waiting_badge(client: FlaskClient) -> str | None:
    page = client.get("/announcements/").get_data(as_text=True)
    link = re.search(r'<a [^>]*id="nav-waiting"[^>]*>(.*?)</a>', page, re.S)
    if link is None:
        return None  # no link at all (not an approver)
    badge = re.search(r'<span class="badge"[^>]*>(\d+)</span>', link.group(1))
    return badge.group(1) if badge else ""


def test_the_navigation_counts_what_waits_for_each_approver(client: FlaskClient, auth) -> None:
    _draft_and_submit(client, auth)  # the province's own
    _draft_and_submit(client, auth, "bientap-dh")  # Đắk Hà's own
    auth.login("pheduyet")
    assert _waiting_badge(client) == "2"  # the province approves within its whole subtree
    auth.logout()
    auth.login("pheduyet-dh")
    assert _waiting_badge(client) == "1"
    auth.logout()
    auth.login("pheduyet-dm")
    assert _waiting_badge(client) == ""  # nothing of Đắk Mar's waits: no badge
    auth.logout()
    auth.login("bientap")
    assert _waiting_badge(client) is None  # an editor approves nothing: no link


def test_submitting_and_rejecting_keep_a_notice_to_send(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    from broadcaster.models import WorkflowNotice

    ann_id = _draft_and_submit(client, auth)
    auth.login("pheduyet")
    client.post(f"/announcements/{ann_id}/reject", data={"reason": "Sai ngày."})
    with db() as s:
        rows = s.scalars(select(WorkflowNotice).order_by(WorkflowNotice.id)).all()
        assert [(n.event, n.announcement_id, n.actor.username, n.done) for n in rows] == [
            ("submitted", ann_id, "bientap", False),
            ("rejected", ann_id, "pheduyet", False),
        ]
