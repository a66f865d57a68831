"""Every route, as commune A's staff, asked about commune B: nothing of B is shown, targeted,
changed, exported or broadcast (issue 11). The routes come from ``app.url_map``, so a new route
is covered as soon as it exists (or the test names the argument it does not know)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from broadcaster import accounts
from broadcaster.clock import Clock
from broadcaster.models import (
    Announcement,
    Bulletin,
    BulletinDelivery,
    Campaign,
    Emergency,
    LiveSession,
    Relay,
    Slot,
    Unit,
    announcement_zones,
)
from tests.scope.conftest import PASSWORDS, Commune, Province
from web.i18n import to_local

# Routes that hold nothing of a commune, and why.
UNSCOPED = {
    "static": "static files",
    "auth.login": "the login form",
    "auth.logout": "logging out",
    "index": "a redirect to the user's start page",
    "media.get": "audio by content hash, fetched by agents without a login",
    "api.openapi": "the API's description",
    "api.docs": "the API's description",
}
UNSCOPED_BLUEPRINTS = {"lexicon": "the installation's one pronunciation list (admins only)"}
COMMUNE_STAFF = ("bientap-dh", "pheduyet-dh", "canbo-dh", "quantri-dh")
COMMUNE_ADMIN_PASSWORD = "quantri-dh-123"  # Đắk Hà's administrator, made by the test
# The request's own values said back: links with its query, "not a valid choice", "unknown zones".
ECHO = re.compile(r"\b(zone|site)=[\w-]+|&#39;[\w-]+&#39; |khu vực: [\w, -]+\.")


def _rules(app: Flask) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if rule.websocket:
            continue  # a plain request never reaches it; tests/live/test_live_web.py asks it
        endpoint = rule.endpoint
        if endpoint in UNSCOPED or endpoint.endswith(".static"):
            continue
        if endpoint.split(".")[0] in UNSCOPED_BLUEPRINTS:
            continue
        yield rule


def _args(rule: Rule, b: Commune) -> dict[str, Any]:
    """The route's arguments, each naming one of commune B's rows."""
    known = {
        "ann_id": b.submitted if rule.endpoint.endswith(("approve", "reject")) else b.approved,
        "campaign_id": b.campaign,
        "emergency_id": b.emergency,
        "live_id": b.live,
        "zone_id": b.zone,
        "site_id": b.site,
        "version_id": 1,
        "user_id": b.user,
        "token_id": b.token,
        "bulletin_id": b.bulletin,
        "delivery_id": b.delivery,
        "relay_id": b.relay,
        "slot_id": 1,  # slots are shared by every commune: only the province's admins change them
    }
    missing = set(rule.arguments) - set(known)
    assert not missing, f"{rule.rule}: say which of commune B's rows {missing} should name"
    return {name: known[name] for name in rule.arguments}


def _form(b: Commune, clock: Clock) -> dict[str, Any]:
    """One form that, posted anywhere, would target commune B if the route let it."""
    when = to_local(clock.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "Thử vượt phạm vi",
        "body": "Nội dung thử.",
        "text": "Nội dung thử.",
        "zones": [b.zone],
        "priority": "normal",
        "start_at": when,
        "reason": "Thử",
        "name": "Chiến dịch thử",
        "category": "khac",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "target_per_week": "1",
        "source": str(b.approved),
        "media": b.media,
        "announcement_id": str(b.approved),
        "language": "bahnar",
        "communes": [str(b.unit)],
        "slot": "1",
    }


def _text(resp: TestResponse) -> str:
    """What the response shows, readable: JSON unescaped, spreadsheets' cells, calendars unfolded."""
    mime = resp.mimetype or ""
    if mime == "application/json":
        data = resp.get_json(silent=True)
        if isinstance(data, dict):
            data.pop("filter", None)  # the query echoed back
        return json.dumps(data, ensure_ascii=False)
    if "spreadsheetml" in mime:
        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        return "\n".join(
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        )
    if mime == "text/calendar":
        return resp.get_data(as_text=True).replace("\r\n ", "")
    if mime == "application/pdf":
        return ""  # its content is what _spy_pdfs captured
    return resp.get_data(as_text=True)


@pytest.fixture
def pdf_inputs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reports and proofs the PDF exports were drawn from (PDF text is glyph ids)."""
    import web.logs.proof_pdf
    import web.reports.routes

    seen: list[str] = []

    def spy(module: Any, name: str) -> None:
        real = getattr(module, name)

        def wrapped(data: Any, *rest: Any) -> bytes:
            shown = {k: v for k, v in vars(data).items() if k != "filter"}  # not the query
            seen.append(repr((shown, rest)))
            return real(data, *rest)  # type: ignore[no-any-return]

        monkeypatch.setattr(module, name, wrapped)

    spy(web.reports.routes, "report_pdf")
    spy(web.logs.proof_pdf, "proof_pdf")
    return seen


def _login(client: FlaskClient, username: str) -> None:
    password = PASSWORDS.get(username, COMMUNE_ADMIN_PASSWORD)
    resp = client.post("/login", data={"username": username, "password": password})
    assert resp.status_code == 302, f"{username} could not log in"


def _b_state(db: sessionmaker[Session], b: Commune) -> tuple[Any, ...]:
    with db() as s:
        targeting_b = select(func.count(func.distinct(announcement_zones.c.announcement_id))).where(
            announcement_zones.c.zone_id == b.zone
        )
        return (
            s.get(Announcement, b.approved).status,  # type: ignore[union-attr]
            s.get(Announcement, b.submitted).status,  # type: ignore[union-attr]
            s.scalar(targeting_b),
            s.scalar(select(func.count()).select_from(Emergency)),
            s.scalar(select(func.count()).select_from(Campaign)),
            s.get(Campaign, b.campaign).name,  # type: ignore[union-attr]
            s.get(LiveSession, b.live).ended_at,  # type: ignore[union-attr]
            s.scalar(select(func.count()).select_from(Bulletin)),
            s.get(BulletinDelivery, b.delivery).state,  # type: ignore[union-attr]
            s.get(BulletinDelivery, b.delivery).announcement_id,  # type: ignore[union-attr]
            s.scalars(select(Relay.name).order_by(Relay.id)).all(),
            s.scalars(select(Slot.name).order_by(Slot.id)).all(),
        )


@pytest.mark.parametrize("username", COMMUNE_STAFF)
def test_commune_staff_reach_nothing_of_the_other_commune(
    app: Flask,
    client: FlaskClient,
    db: sessionmaker[Session],
    province: Province,
    clock: Clock,
    pdf_inputs: list[str],
    username: str,
) -> None:
    b = province.b
    if username == "quantri-dh":
        with db() as s, s.begin():
            dh = s.get(Unit, province.a.unit)
            accounts.create_user(s, username, COMMUNE_ADMIN_PASSWORD, "admin", "QT Đắk Hà", dh)
    before = _b_state(db, b)
    _login(client, username)
    form = _form(b, clock)
    checked = 0
    query = {
        "commune": "Xã Đắk Mar",
        "unit": b.code,
        "zone": b.zone,
        "site": b.site,
        "announcement": b.approved,
    }
    for rule in _rules(app):
        with app.test_request_context():
            url = url_for(rule.endpoint, **_args(rule, b))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            if method == "GET":
                resp = client.get(url, query_string=query)
            else:
                resp = client.post(url, data=form)
            shown = ECHO.sub("", _text(resp).replace(url, ""))  # the request repeated
            assert b.marker not in shown, f"{username} {method} {url} shows commune B"
            assert b.zone not in shown and b.site not in shown, f"{method} {url} names B's rows"
            if rule.arguments:
                assert resp.status_code in (403, 404), f"{method} {url}: {resp.status_code}"
            checked += 1
    for data in pdf_inputs:
        assert b.marker not in data and b.site not in data
    assert _b_state(db, b) == before, "a request changed commune B"
    assert not [t for t, *_ in province.sent.sent if b.zone in t], "a command reached B"
    assert checked >= 40  # every route, not a few


def test_own_commune_and_province_see_what_is_theirs(
    client: FlaskClient, province: Province
) -> None:
    """The check above is not vacuous: A's staff see A's rows, the province officer sees both."""
    a, b = province.a, province.b
    _login(client, "canbo-dh")
    assert client.get(f"/announcements/{a.approved}").status_code == 200
    assert a.marker in client.get(f"/bulletins/inbox/{a.delivery}").get_data(as_text=True)
    assert a.site in client.get("/logs/").get_data(as_text=True)
    client.post("/logout")
    _login(client, "canbo")
    logs = client.get("/logs/").get_data(as_text=True)
    assert a.site in logs and b.site in logs
    api = client.get("/api/v1/logs").get_json()
    assert {a.site, b.site} <= {row["site_id"] for row in api["items"]}
    for commune in (a, b):
        assert client.get(f"/announcements/{commune.approved}").status_code == 200
        assert client.get(f"/emergency/{commune.emergency}").status_code == 200
        assert client.get(f"/campaigns/{commune.campaign}").status_code == 200
        assert commune.marker in client.get(f"/bulletins/{commune.bulletin}").get_data(as_text=True)
        assert client.get(f"/bulletins/inbox/{commune.delivery}").status_code == 200
        assert client.get(f"/api/v1/announcements/{commune.approved}/proof").status_code == 200


def test_commune_approver_cannot_decide_province_or_other_commune_items(
    client: FlaskClient, db: sessionmaker[Session], province: Province
) -> None:
    """An approver approves only within their unit: B's submission is a 404 to A's approver,
    and stays submitted; B's own approver can approve it."""
    b = province.b
    _login(client, "pheduyet-dh")
    start = {"start_at": "2030-01-01T08:00"}
    assert client.post(f"/announcements/{b.submitted}/approve", data=start).status_code == 404
    assert (
        client.post(f"/announcements/{b.submitted}/reject", data={"reason": "x"}).status_code == 404
    )
    with db() as s:
        assert s.get(Announcement, b.submitted).status == "submitted"  # type: ignore[union-attr]
    client.post("/logout")
    _login(client, "pheduyet-dm")
    resp = client.post(f"/announcements/{b.submitted}/reject", data={"reason": "Sửa lại"})
    assert resp.status_code == 302
    with db() as s:
        assert s.get(Announcement, b.submitted).status == "rejected"  # type: ignore[union-attr]
