"""The main menu: one button on a phone carrying what waits, and the link to the page shown
marked ``aria-current="page"`` (how it looks on each screen: tests/scope/test_menu_browser.py)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CURRENT = re.compile(r'<a href="([^"]*)" aria-current="page"')


def _current(client: FlaskClient, url: str) -> list[str]:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return CURRENT.findall(resp.get_data(as_text=True))


def test_the_link_to_the_page_shown_is_marked(client: FlaskClient, auth) -> None:
    auth.login("pheduyet")
    assert _current(client, "/today/") == ["/today/"]
    assert _current(client, "/today/?lang=vi") == ["/today/"]
    assert _current(client, "/announcements/") == ["/announcements/"]
    # "To approve" is the list filtered to what waits: it alone, not "Announcements"
    assert _current(client, "/announcements/?status=submitted") == [
        "/announcements/?status=submitted"
    ]
    assert _current(client, "/announcements/?status=draft") == ["/announcements/"]
    assert _current(client, "/logs/?status=finished") == ["/logs/"]  # the log, filtered
    assert _current(client, "/account/password") == []  # not a page of the menu


def test_the_menu_button_carries_what_waits(client: FlaskClient, auth) -> None:
    auth.login("bientap")
    ann_id = auth.create().headers["Location"].rsplit("/", 1)[-1]
    assert client.post(f"/announcements/{ann_id}/submit").status_code == 302
    page = client.get("/today/").get_data(as_text=True)
    button = re.search(r"<summary[^>]*>(.*?)</summary>", page, re.S)
    assert button is not None and button.group(1).strip() == "Menu"  # the editor approves nothing
    auth.logout()
    auth.login("pheduyet")
    page = client.get("/today/").get_data(as_text=True)
    button = re.search(r"<summary[^>]*>(.*?)</summary>", page, re.S)
    assert button is not None
    assert re.sub(r"<[^>]+>", "|", button.group(1)) == "Menu |1||1 mục chờ duyệt|"
    assert '<span class="badge" aria-hidden="true">1</span>' in button.group(1)
