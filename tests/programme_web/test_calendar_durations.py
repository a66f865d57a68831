"""The week calendar shows an airing shorter than a minute by its start and length, not as
"06:00–06:00" (issue 13)."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import AddFn, LoginFn, local


def test_short_airings_show_their_length(
    client: FlaskClient, login: LoginFn, add_approved: AddFn
) -> None:
    add_approved(local(2027, 3, 3, 6, 0), title="Tin ngắn", seconds=45)
    add_approved(local(2027, 3, 3, 7, 0), title="Tin dài", seconds=300)
    login("canbo")
    html = client.get("/calendar/site/cum-loa-t1?week=2027-03-03").text
    assert "06:00–06:00" not in html
    assert '06:00 · <span class="length" title="Thời lượng">0:45</span>' in html
    assert "07:00–07:05" in html
