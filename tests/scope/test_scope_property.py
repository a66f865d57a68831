"""Random unit trees, users and rows: no page, API response or export shows a row outside the
user's subtree, and every row inside it is found (issue 11). Expected visibility is computed
here by walking parent links, independently of broadcaster.scope's recursive query."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory
from broadcaster.models import (
    Announcement,
    Base,
    Campaign,
    Emergency,
    Playback,
    ScheduleItem,
    Site,
    Unit,
    User,
    Zone,
)
from tests.support.clock import FIXED_NOW
from web import create_app

PASSWORD = "mat-khau-1"
# Cheap to check, so an example logs in several users quickly (the real hash is scrypt).
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
ROLES = ("editor", "approver", "officer", "admin")


def token(kind: str, n: int) -> str:
    """A name no page shows by chance, and no other token contains."""
    return f"Q{kind}{n:03d}q"


@dataclass
class World:
    parent: dict[int, int | None] = field(default_factory=dict)  # unit → parent
    communes: list[int] = field(default_factory=list)
    zone_unit: dict[str, int] = field(default_factory=dict)
    site_unit: dict[str, int] = field(default_factory=dict)
    site_zones: dict[str, list[str]] = field(default_factory=dict)
    anns: dict[int, tuple[int, list[str]]] = field(default_factory=dict)  # id → owner, zones
    aired: dict[int, set[str]] = field(default_factory=dict)  # announcement → sites
    campaigns: dict[int, int] = field(default_factory=dict)
    emergencies: dict[int, int] = field(default_factory=dict)  # id → announcement
    users: dict[str, tuple[int, str]] = field(default_factory=dict)  # username → unit, role

    def subtree(self, unit: int) -> set[int]:
        out = set()
        for u in self.parent:
            node: int | None = u
            while node is not None:
                if node == unit:
                    out.add(u)
                    break
                node = self.parent[node]
        return out

    def below(self, unit: int) -> list[str]:
        """Zones in ``unit``'s subtree."""
        inside = self.subtree(unit)
        return sorted(z for z, u in self.zone_unit.items() if u in inside)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    w = World()
    w.parent[1] = None
    # Any depth: each new unit hangs under a non-commune unit; leaves are made communes.
    kinds = {1: "province"}
    for uid in range(2, draw(st.integers(3, 8)) + 1):
        upper = [u for u, k in kinds.items() if k != "commune"]
        parent = draw(st.sampled_from(upper))
        kinds[uid] = draw(st.sampled_from(["commune", "commune", "district"]))
        w.parent[uid] = parent
    w.communes = [u for u, k in kinds.items() if k == "commune"] or [max(kinds)]
    for u in w.communes:
        kinds[u] = "commune"
    n = 0
    for commune in w.communes:
        for _ in range(draw(st.integers(1, 2))):
            n += 1
            w.zone_unit[token("z", n)] = commune
        zones = [z for z, u in w.zone_unit.items() if u == commune]
        for _ in range(draw(st.integers(1, 2))):
            n += 1
            site = token("s", n)
            w.site_unit[site] = commune
            w.site_zones[site] = draw(st.lists(st.sampled_from(zones), min_size=1, unique=True))
    units = sorted(w.parent)
    for aid in range(1, draw(st.integers(2, 6)) + 1):
        owner = draw(st.sampled_from(units))
        inside = w.below(owner)
        if not inside:
            continue
        targets = draw(st.lists(st.sampled_from(inside), min_size=1, unique=True))
        w.anns[aid] = (owner, targets)
        reached = sorted(s for s, zs in w.site_zones.items() if set(zs) & set(targets))
        w.aired[aid] = (
            set(draw(st.lists(st.sampled_from(reached), unique=True))) if reached else set()
        )
    for cid in range(1, draw(st.integers(0, 3)) + 1):
        w.campaigns[cid] = draw(st.sampled_from(units))
    for eid, aid in enumerate(sorted(w.anns)[:2], start=1):
        w.emergencies[eid] = aid
    for i in range(draw(st.integers(1, 2))):
        w.users[f"user{i}"] = (draw(st.sampled_from(units)), draw(st.sampled_from(ROLES)))
    w.kinds = kinds  # type: ignore[attr-defined]
    return w


def _store(session: Session, w: World) -> None:
    now = FIXED_NOW
    for uid in sorted(w.parent):
        kind = w.kinds[uid]  # type: ignore[attr-defined]
        session.add(
            Unit(
                id=uid,
                parent_id=w.parent[uid],
                kind=kind,
                code=token("c", uid),
                name=token("u", uid),
            )
        )
    session.flush()
    zones = {z: Zone(id=z, name=f"{z}-name", unit_id=u) for z, u in w.zone_unit.items()}
    session.add_all(zones.values())
    for s, u in w.site_unit.items():
        session.add(
            Site(id=s, name=f"{s}-name", unit_id=u, zones=[zones[z] for z in w.site_zones[s]])
        )
    for name, (unit, role) in w.users.items():
        session.add(
            User(username=name, display_name=name, password_hash=HASH, role=role, unit_id=unit)
        )
    author = User(username="author", display_name="a", password_hash=HASH, role="editor", unit_id=1)
    session.add(author)
    session.flush()
    for aid, (owner, targets) in w.anns.items():
        ann = Announcement(
            id=aid,
            title=token("t", aid),
            body=token("b", aid),
            status="approved",
            priority="emergency" if aid in w.emergencies.values() else "normal",
            author_id=author.id,
            unit_id=owner,
            zones=[zones[z] for z in targets],
        )
        ann.schedule.append(ScheduleItem(start_at=now + timedelta(hours=aid)))
        session.add(ann)
        for site in w.aired[aid]:
            session.add(
                Playback(
                    site_id=site,
                    item_id=f"s{aid}-1",
                    announcement_id=aid,
                    scheduled_at=now - timedelta(hours=1),
                    status="finished",
                    started_at=now - timedelta(hours=1),
                    finished_at=now - timedelta(minutes=59),
                    updated_at=now,
                    unit_id=w.site_unit[site],
                )
            )
    for cid, unit in w.campaigns.items():
        inside = w.below(unit)
        session.add(
            Campaign(
                id=cid,
                name=token("k", cid),
                starts_on=date(2026, 1, 1),
                ends_on=date(2027, 1, 1),
                unit_id=unit,
                zones=[zones[z] for z in inside[:1]],
            )
        )
    for eid, aid in w.emergencies.items():
        session.add(
            Emergency(
                id=eid,
                announcement_id=aid,
                reason=token("r", eid),
                sent_by_id=author.id,
                sent_at=now,
            )
        )
    session.commit()


def _text(resp: TestResponse) -> str:
    if resp.mimetype == "application/json":
        return json.dumps(resp.get_json(silent=True), ensure_ascii=False)
    if "spreadsheetml" in (resp.mimetype or ""):
        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        return " ".join(
            str(v) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for v in r
        )
    return resp.get_data(as_text=True).replace("\r\n ", "")


LISTS = (
    "/announcements/",
    "/schedule/",
    "/logs/?start=2029-01-01&end=2031-12-31",
    "/logs/export.csv?start=2029-01-01&end=2031-12-31",
    "/logs/export.xlsx?start=2029-01-01&end=2031-12-31",
    "/health/",
    "/health/map",
    "/reports/?start=2029-01-01&end=2031-12-31",
    "/reports/report.xlsx?start=2029-01-01&end=2031-12-31",
    "/api/v1/logs?start=2029-01-01&end=2031-12-31&per_page=200",
    "/api/v1/health",
    "/api/v1/reports?start=2029-01-01&end=2031-12-31",
    "/calendar/",
    "/campaigns/",
    "/emergency/",
)


DETAILS = ("/announcements/", "/campaigns/", "/calendar/zone/", "/calendar/site/", "/emergency/")


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The per-test settings (named apart from hypothesis' ``settings``)."""
    return settings


@given(worlds())
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_response_shows_a_row_outside_the_users_subtree(
    app_settings: Settings, w: World
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/db.sqlite3")
        Base.metadata.create_all(engine)
        factory = session_factory(engine)
        with factory() as session:
            _store(session, w)
        app = create_app(app_settings, sessions=factory, clock=FakeClock(FIXED_NOW), renderer=None)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        try:
            for username, (unit, _role) in w.users.items():
                _check_user(app, w, username, w.subtree(unit))
        finally:
            app.extensions["broadcaster"].close()
            engine.dispose()


def _check_user(app: Flask, w: World, username: str, inside: set[int]) -> None:
    seen_anns = {a for a, (owner, _z) in w.anns.items() if owner in inside}
    aired_here = {a for a, sites in w.aired.items() if any(w.site_unit[s] in inside for s in sites)}
    # What airs on the user's own speakers may be named to them (calendars, logs), never its
    # other communes' zones and sites, nor its page.
    airs_here = {a for a, (_o, zs) in w.anns.items() if any(w.zone_unit[z] in inside for z in zs)}
    hidden = (
        [token("u", u) for u in w.parent if u not in inside]
        + [z for z, u in w.zone_unit.items() if u not in inside]
        + [s for s, u in w.site_unit.items() if u not in inside]
        + [token("t", a) for a in w.anns if a not in seen_anns | aired_here | airs_here]
        + [token("k", c) for c, u in w.campaigns.items() if u not in inside]
        + [token("r", e) for e, a in w.emergencies.items() if a not in seen_anns]
    )
    urls = list(LISTS)
    urls += [f"/announcements/{a}" for a in w.anns] + [f"/logs/proof/{a}" for a in w.anns]
    urls += [f"/api/v1/announcements/{a}/proof" for a in w.anns]
    urls += [f"/campaigns/{c}" for c in w.campaigns] + [f"/emergency/{e}" for e in w.emergencies]
    urls += [f"/calendar/zone/{z}" for z in w.zone_unit] + [
        f"/calendar/site/{s}" for s in w.site_unit
    ]
    urls += [f"/calendar/zone/{z}.ics" for z in w.zone_unit]
    expect_found = (
        {f"/announcements/{a}" for a in seen_anns}
        | {f"/campaigns/{c}" for c, u in w.campaigns.items() if u in inside}
        | {f"/calendar/zone/{z}" for z, u in w.zone_unit.items() if u in inside}
        | {f"/calendar/zone/{z}.ics" for z, u in w.zone_unit.items() if u in inside}
        | {f"/emergency/{e}" for e, a in w.emergencies.items() if a in seen_anns}
        | {f"/calendar/site/{s}" for s, u in w.site_unit.items() if u in inside}
    )
    with app.test_client() as client:
        assert (
            client.post("/login", data={"username": username, "password": PASSWORD}).status_code
            == 302
        )
        for url in urls:
            resp = client.get(url)
            shown = _text(resp).replace(url, "")
            leaked = [h for h in hidden if h in shown]
            assert not leaked, f"{username} (units {sorted(inside)}) GET {url} shows {leaked}"
            path = url.split("?")[0]
            if path in expect_found:
                assert resp.status_code == 200, f"{username} GET {url}: {resp.status_code}"
            elif path.startswith(DETAILS) and path not in LISTS:
                assert resp.status_code in (403, 404), f"{username} GET {url}: {resp.status_code}"
