"""The report page and its exports; the JSON API and its OpenAPI document."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

PERIOD = "start=2026-11-22&end=2026-11-23"


def test_report_page_has_figures_and_svg_charts(officer) -> None:
    page = officer.get(f"/reports/?{PERIOD}").get_data(as_text=True)
    assert "Báo cáo phát thanh" in page
    assert 'id="broadcasts">3<' in page and 'id="minutes">8.0<' in page
    assert page.count("<svg") >= 4 and "Giảm nghèo bền vững" in page
    assert 'id="frequency"' in page and 'id="coverage"' in page


def test_report_exports(officer) -> None:
    r = officer.get(f"/reports/report.xlsx?{PERIOD}")
    assert r.status_code == 200
    assert "bao-cao-" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames[:4] == [
        "Tổng hợp",
        "Theo đơn vị trực thuộc",
        "Theo xã đã phát",
        "Theo thôn, khu vực",
    ]
    summary = dict(wb["Tổng hợp"].iter_rows(values_only=True))
    assert summary["Kỳ báo cáo / Period"] == "22/11/2026 – 23/11/2026"
    zone_rows = list(wb["Theo thôn, khu vực"].iter_rows(values_only=True))
    assert ("Thôn 1", 5, 3, 1, 8.0, 60.0) in zone_rows
    # Names, never codes: the category's label
    categories = {row[0] for row in wb["Theo lĩnh vực"].iter_rows(values_only=True)}
    assert {"Y tế", "Phòng chống thiên tai"} <= categories and "y-te" not in categories
    pdf = officer.get(f"/reports/report.pdf?{PERIOD}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_annual_report_with_frequency_per_commune(officer) -> None:
    """The annual report up the chain: the year named, and each campaign's planned vs achieved
    frequency per commune (the campaign targets the commune's zones)."""
    r = officer.get("/reports/report.xlsx?start=2026-01-01&end=2026-12-31")
    wb = load_workbook(io.BytesIO(r.data))
    summary = dict(wb["Tổng hợp"].iter_rows(values_only=True))
    assert summary["Kỳ báo cáo / Period"].startswith("Năm 2026 / Year 2026")
    header, *rows = wb["Tần suất theo xã"].iter_rows(values_only=True)
    assert header[:2] == ("Chiến dịch / Campaign", "Xã / Commune")
    [(campaign, commune, target, _planned, _achieved, planned, achieved, _pct)] = rows
    assert (campaign, commune, target, planned, achieved) == (
        "Giảm nghèo bền vững",
        "Xã Đắk Hà",
        7,
        2,
        2,
    )
    page = officer.get("/reports/?start=2026-01-01&end=2026-12-31").get_data(as_text=True)
    assert 'class="per-commune"' in page and "Năm 2026" in page


def test_openapi_document_is_valid_and_every_path_answers(officer) -> None:
    spec = json.loads(officer.get("/api/openapi.json").data)
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/logs",
        "/api/v1/announcements/{ann_id}/proof",
        "/api/v1/health",
        "/api/v1/reports",
    }
    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:
        validate(spec)
    for path in spec["paths"]:
        url = path.replace("{ann_id}", "1")
        r = officer.get(url)
        assert r.status_code == 200, url
        assert r.is_json
    docs = officer.get("/api/docs").get_data(as_text=True)
    assert "/api/v1/reports" in docs and "Tham số" in docs


def test_api_figures(officer, seeded_sqlite) -> None:
    report = officer.get(f"/api/v1/reports?{PERIOD}").get_json()
    assert report["total"]["broadcasts"] == 3 and report["total"]["minutes"] == 8.0
    assert {x["key"] for x in report["by"]["zone"]} == {"thon-1", "thon-2", "thon-5"}
    proof = officer.get(f"/api/v1/announcements/{seeded_sqlite.vaccine}/proof").get_json()
    assert proof["coverage_pct"] == 33.3 and proof["targeted_sites"] == 3
    assert {s["site_id"]: s["reason"] for s in proof["sites"]}["cum-loa-t2"] == "failed"
    logs = officer.get("/api/v1/logs?status=finished&per_page=25").get_json()
    assert logs["total"] == 3 and logs["items"][0]["scheduled_at"].endswith("Z")
    assert officer.get("/api/v1/announcements/999/proof").status_code == 404
    health = officer.get("/api/v1/health").get_json()
    # The province officer: both demo communes.
    assert {s["site_id"] for s in health["sites"]} == {
        "dai-xa",
        "cum-loa-t1",
        "cum-loa-t2",
        "dm-cum-loa-t3",
        "dm-cum-loa-kt",
    }


@pytest.fixture
def token_app(app, monkeypatch):
    services = app.extensions["broadcaster"]
    monkeypatch.setattr(
        services, "settings", services.settings.replace(api_tokens="tinh-kontum-0123456789abcdef")
    )
    return app


def test_api_needs_a_session_or_a_token(token_app) -> None:
    anon = token_app.test_client()
    r = anon.get("/api/v1/health")
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    assert anon.get("/api/v1/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = anon.get(
        "/api/v1/reports", headers={"Authorization": "Bearer tinh-kontum-0123456789abcdef"}
    )
    assert ok.status_code == 200 and "total" in ok.get_json()
    assert anon.get("/api/openapi.json").status_code == 200  # the document itself is public


def test_roll_up_from_the_province_down_to_a_zone(officer) -> None:
    """Province → commune → zone → site through the one scope, each level adding up."""
    province = officer.get(f"/api/v1/reports?{PERIOD}").get_json()
    assert province["unit"]["code"] == "62"
    below = {x["key"]: x["planned"] for x in province["by"]["unit"]}
    assert below == {"62001": 7}  # everything aired in Đắk Hà
    page = officer.get(f"/reports/?{PERIOD}").get_data(as_text=True)
    assert "unit=62001" in page  # a link down to the commune
    commune = officer.get(f"/api/v1/reports?{PERIOD}&unit=62001").get_json()
    assert commune["unit"]["name"] == "Xã Đắk Hà" and commune["total"]["planned"] == 7
    sites = {x["key"]: x["planned"] for x in commune["by"]["site"]}
    assert sum(sites.values()) == commune["total"]["planned"]
    zone = officer.get(f"/api/v1/reports?{PERIOD}&unit=62001&zone=thon-1").get_json()
    assert (zone["total"]["planned"], zone["total"]["broadcasts"]) == (5, 3)
    assert {x["key"] for x in zone["by"]["zone"]} == {"thon-1"}
    page = officer.get(f"/reports/?{PERIOD}&unit=62001&zone=thon-1").get_data(as_text=True)
    assert 'id="unit-path"' in page and "Thôn 1" in page
    other = officer.get(f"/api/v1/reports?{PERIOD}&unit=62002").get_json()
    assert other["total"]["planned"] == 0 and other["by"]["site"] == []
