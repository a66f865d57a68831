"""Zones and sites in the web (issue 13): an administrator adds a zone and a site with its
coordinates, a commune administrator reaches only their commune, and a site's bundle,
downloaded from the web, starts a real agent on a real Mosquitto that reads the broker files
the web wrote."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts
from broadcaster.models import Site, Unit, Zone
from tests.scope.conftest import PASSWORDS, Province
from tests.support.agents import AgentProcess
from tests.support.bundle import provisioned_mosquitto, unpack


def _unit(db: sessionmaker[Session], code: str) -> int:
    with db() as s:
        return s.scalars(select(Unit.id).where(Unit.code == code)).one()


def _admin(app: Flask, username: str = "quantri", password: str | None = None):  # noqa: ANN202
    client = app.test_client()
    r = client.post(
        "/login", data={"username": username, "password": password or PASSWORDS[username]}
    )
    assert r.status_code == 302
    return client


def test_an_administrator_adds_a_zone_and_a_site_with_its_place(
    app: Flask, db: sessionmaker[Session], province: Province
) -> None:
    admin = _admin(app)
    dh = str(_unit(db, "62001"))
    r = admin.post(
        "/places/zones/new",
        data={"zone_id": "thon-9", "name": "Thôn 9", "unit": dh, "language": "vi"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    r = admin.post(
        "/places/sites/new",
        data={
            "site_id": "cum-loa-t9",
            "name": "Cụm loa thôn 9 - sân bóng",
            "unit": dh,
            "zones": ["thon-9", "thon-1"],
            "output": "amplifier",
            "latitude": "14.6801",
            "longitude": "107.9402",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    with db() as s:
        site = s.get(Site, "cum-loa-t9")
        assert site is not None and (site.latitude, site.longitude) == (14.6801, 107.9402)
        assert sorted(z.id for z in site.zones) == ["thon-1", "thon-9"]
    listing = admin.get("/places/").get_data(as_text=True)
    assert "Cụm loa thôn 9 - sân bóng" in listing and "14.6801" in listing
    taken = admin.post(
        "/places/zones/new", data={"zone_id": "thon-9", "name": "Lặp", "unit": dh, "language": "vi"}
    )
    assert "Mã này đã có." in taken.get_data(as_text=True)
    # A site's zones are its commune's: Đắk Mar's zone is refused for a Đắk Hà site.
    r = admin.post(
        "/places/sites/cum-loa-t9",
        data={"name": "X", "unit": dh, "zones": [province.b.zone], "output": "amplifier"},
    )
    assert "Điểm phát chỉ phục vụ các khu vực của xã mình." in r.get_data(as_text=True)


def test_a_commune_administrator_reaches_only_their_commune(
    app: Flask, db: sessionmaker[Session], province: Province
) -> None:
    with db() as s, s.begin():
        dh = s.get(Unit, _unit(db, "62001"))
        assert dh is not None
        accounts.create_user(s, "quantri-dh", "quantri-dh-123", "admin", "QT Đắk Hà", dh)
    admin = _admin(app, "quantri-dh", "quantri-dh-123")
    listing = admin.get("/places/").get_data(as_text=True)
    assert province.a.site in listing and province.b.site not in listing
    assert admin.get(f"/places/sites/{province.b.site}").status_code == 404
    assert admin.post(f"/places/sites/{province.b.site}/bundle").status_code == 404
    page = admin.get("/places/sites/new").get_data(as_text=True)
    assert re.findall(r'<option[^>]*value="(\d+)"', page)[0] == str(_unit(db, "62001"))
    assert str(_unit(db, "62002")) not in re.findall(r'<option[^>]*value="(\d+)"', page)
    r = admin.post(
        "/places/sites/new",
        data={
            "site_id": "xam-nhap",
            "name": "X",
            "unit": str(_unit(db, "62002")),
            "output": "amplifier",
        },
    )
    assert "Lựa chọn không hợp lệ." in r.get_data(as_text=True)
    with db() as s:
        assert s.get(Site, "xam-nhap") is None and s.get(Zone, "xam-nhap") is None


def test_a_bundle_from_the_web_starts_an_agent_on_the_broker_it_provisioned(
    app: Flask, db: sessionmaker[Session], province: Province, tmp_path: Path
) -> None:
    services = app.extensions["broadcaster"]
    broker_dir = tmp_path / "broker"
    services.settings = services.settings.replace(
        broker_dir=str(broker_dir), mqtt_password="the-server-s-own-password-123"
    )
    admin = _admin(app)
    r = admin.post(f"/places/sites/{province.a.site}/bundle")
    assert r.status_code == 200 and r.mimetype == "application/zip", r.get_data(as_text=True)[:500]
    assert r.headers["Cache-Control"] == "no-store"
    bundled = unpack(r.data, tmp_path / "bundle", province.a.site)
    assert bundled.site == province.a.site and list(bundled.zones) == [province.a.zone]

    with provisioned_mosquitto(broker_dir) as broker:
        agent = AgentProcess(broker.agent_config(bundled, tmp_path), tmp_path)
        agent.start()
        try:
            agent.wait_log("connected", timeout=20)
        finally:
            agent.stop()
        log = broker.log()
        assert f"as agent-{province.a.site}" in log and "not authorised" not in log
    assert (broker_dir / "server-passwd").read_text().startswith("server:")
