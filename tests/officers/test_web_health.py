"""The site health page and the SVG map (which needs no tiles and keeps the list)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from officers_seed import NOW

from broadcaster.models import Site
from broadcaster.queries.health import SiteHealth
from web.health.svgmap import project


def test_health_page_lists_every_site_with_alerts(officer, seeded_sqlite) -> None:
    with seeded_sqlite.factory() as s, s.begin():
        t1 = s.get(Site, "cum-loa-t1")
        t1.disk_free_bytes, t1.cpu_temp_c, t1.clock_offset_ms = 2_500_000_000, 58.0, 9000
        s.get(Site, "cum-loa-t2").state_at = NOW - timedelta(hours=2)  # the app's clock is at NOW
    page = officer.get("/health/").get_data(as_text=True)
    assert "Tình trạng cụm loa" in page
    for name in ("Đài truyền thanh xã", "Cụm loa thôn 1", "Cụm loa thôn 2"):
        assert name in page
    assert "2.5 GB" in page and "58 °C" in page and "9000 ms" in page
    assert "Lệch đồng hồ" in page and "Mất kết nối quá lâu" in page
    assert 'id="alerts"' in page


def test_map_draws_sites_with_coordinates_and_keeps_the_list(officer, seeded_sqlite) -> None:
    with seeded_sqlite.factory() as s, s.begin():
        for site in s.query(Site):  # the demo commune has coordinates: start without any
            site.latitude = site.longitude = None
    page = officer.get("/health/map").get_data(as_text=True)
    assert "Chưa cụm loa nào có tọa độ" in page and 'id="site-list"' in page
    with seeded_sqlite.factory() as s, s.begin():
        for sid, lat, lon in (("dai-xa", 14.52, 107.95), ("cum-loa-t1", 14.53, 107.97)):
            site = s.get(Site, sid)
            site.latitude, site.longitude = lat, lon
    page = officer.get("/health/map").get_data(as_text=True)
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    root = ET.fromstring(svg)
    circles = root.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 2
    assert {c.get("fill") for c in circles} == {"#2e9e4f"}
    assert "Cụm loa thôn 2 - nhà văn hóa" in page  # unplaced site still in the list
    assert "<script" not in page and "tile" not in page.lower().replace("tiles", "")


def _h(sid: str, lat: float | None, lon: float | None) -> SiteHealth:
    return SiteHealth(sid, sid, [], [], "online", None, None, 0, None, None, None, 0, None, None,
                      None, "", "", lat, lon)  # fmt: skip


def test_projection_keeps_north_up_and_fits_the_box() -> None:
    pts = {p.site_id: p for p in project([_h("n", 15.0, 108.0), _h("s", 14.0, 108.5),
                                          _h("x", None, None)], 640, 480)}  # fmt: skip
    assert set(pts) == {"n", "s"}
    assert pts["n"].y < pts["s"].y and pts["n"].x < pts["s"].x
    assert all(0 <= p.x <= 640 and 0 <= p.y <= 480 for p in pts.values())
    assert len(project([_h("one", 14.0, 108.0)])) == 1  # a single site does not divide by zero
