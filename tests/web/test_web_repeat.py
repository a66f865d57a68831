"""The announcement form's "times said" select: 1–5, defaulting by priority, shown on the page."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import Announcement


def _repeat_of(db: sessionmaker[Session], location: str) -> int:
    ann_id = int(location.rstrip("/").rsplit("/", 1)[1])
    with db() as s:
        ann = s.get(Announcement, ann_id)
        assert ann is not None
        return ann.repeat


def test_the_form_offers_one_to_five_with_the_normal_default(client: FlaskClient, auth) -> None:
    auth.login("bientap")
    page = client.get("/announcements/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="repeat".*?</select>', page, re.S)
    assert select is not None
    assert re.findall(r'value="(\d)"', select[0]) == ["1", "2", "3", "4", "5"]
    assert re.search(r'<option selected value="2">|<option value="2" selected', select[0])
    assert 'data-defaults="normal:2,priority:3,emergency:3"' in select[0]
    assert "Số lần đọc" in page and "repeat_default.js" in page


def test_the_chosen_count_is_stored_and_shown(
    client: FlaskClient, auth, db: sessionmaker[Session]
) -> None:
    auth.login("bientap")
    r = auth.create(priority="emergency", repeat="5")
    assert r.status_code == 302
    assert _repeat_of(db, r.headers["Location"]) == 5
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(r"<dt>Số lần đọc</dt><dd[^>]*>5</dd>", page)


@pytest.mark.parametrize(("priority", "expected"), [("normal", 2), ("emergency", 3)])
def test_without_a_choice_the_priority_decides(
    auth, db: sessionmaker[Session], priority: str, expected: int
) -> None:
    auth.login("bientap")
    r = auth.create(priority=priority)  # a post without the field (an older page or a script)
    assert _repeat_of(db, r.headers["Location"]) == expected


@pytest.mark.parametrize("bad", ["0", "6", "x"])
def test_out_of_range_is_refused(client: FlaskClient, auth, bad: str) -> None:
    auth.login("bientap")
    r = auth.create(repeat=bad)
    assert r.status_code == 200 and "Lựa chọn không hợp lệ" in r.get_data(as_text=True)
