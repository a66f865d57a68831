"""Reports on SQLite and PostgreSQL: counts, minutes, frequency, coverage; each read from the
playback log and from the daily roll-ups (which must say the same)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from broadcaster.queries import reports, rollup_reports
from broadcaster.queries.reports import Report, ReportFilter

TZ = "Asia/Ho_Chi_Minh"
PERIOD = ReportFilter(start=date(2026, 11, 22), end=date(2026, 11, 23))


@pytest.fixture(params=["log", "rollups"])
def report(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """The report read from the playback log, or from the roll-ups (refreshed first)."""
    return reports.report if request.param == "log" else rollup_reports.report


def test_totals_and_minutes(seeded, report) -> None:
    with seeded.factory() as s:
        r = report(s, PERIOD, TZ)
    assert (r.total.planned, r.total.broadcasts, r.total.partial) == (7, 3, 1)
    assert r.total.minutes == 8.0  # four airings of 2 min (3 full + 1 interrupted)


def test_by_dimension(seeded, report) -> None:
    with seeded.factory() as s:
        r = report(s, PERIOD, TZ)
    zones = {x.key: (x.planned, x.broadcasts) for x in r.by["zone"]}
    # dai-xa is in all three zones, so its airings count in each
    assert zones == {"thon-1": (5, 3), "thon-2": (5, 3), "thon-5": (3, 3)}
    cats = {x.key: (x.planned, x.broadcasts) for x in r.by["category"]}
    assert cats == {"y-te": (4, 2), "thien-tai": (3, 1)}
    [camp] = r.by["campaign"]
    assert (camp.label, camp.planned, camp.broadcasts, camp.achieved_pct) == (
        "Giảm nghèo bền vững",
        4,
        2,
        50.0,
    )
    [commune] = r.by["commune"]
    assert (commune.label, commune.planned) == ("Xã Đắk Hà", 7)


def test_campaign_frequency_and_coverage(seeded, report) -> None:
    with seeded.factory() as s:
        r = report(s, ReportFilter(start=date(2026, 11, 17), end=date(2026, 11, 23)), TZ)
    [c] = r.campaigns
    assert c.weeks == 1.0 and c.target_per_week == 7
    # vaccine aired as two airings (22nd and 23rd), both played fully at dai-xa
    assert (c.airings_planned, c.airings_achieved) == (2, 2)
    cov = {x.announcement_id: (x.targeted, x.played_fully) for x in r.coverage}
    assert cov == {seeded.vaccine: (3, 1), seeded.flood: (3, 1)}


def test_filters_narrow_the_report(seeded, report) -> None:
    with seeded.factory() as s:
        by_campaign = report(
            s, ReportFilter(PERIOD.start, PERIOD.end, campaign=seeded.campaign), TZ
        )
        by_category = report(s, ReportFilter(PERIOD.start, PERIOD.end, category="thien-tai"), TZ)
        elsewhere = report(s, ReportFilter(PERIOD.start, PERIOD.end, commune="Xã Khác"), TZ)
    assert by_campaign.total.planned == 4 and by_category.total.planned == 3
    assert elsewhere.total.planned == 0 and elsewhere.by["zone"] == []
    assert by_campaign.as_dict()["total"]["minutes"] == 6.0
