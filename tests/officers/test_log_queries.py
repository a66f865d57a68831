"""The filtered playback log on SQLite and PostgreSQL: every filter, sort, paging, permalink."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from broadcaster.queries.logs import LogFilter, iter_rows, page

TZ = "Asia/Ho_Chi_Minh"


def statuses(seeded, **kw) -> list[tuple[str, str]]:
    with seeded.factory() as s:
        rows = page(s, LogFilter(**kw), TZ).rows
    return sorted((r.site_id, r.status) for r in rows)


def test_unfiltered_lists_everything_newest_first(seeded) -> None:
    with seeded.factory() as s:
        p = page(s, LogFilter(), TZ)
    assert p.total == 7 and not p.has_next
    times = [r.scheduled_at for r in p.rows]
    assert times == sorted(times, reverse=True)


def test_date_range_is_in_local_time(seeded) -> None:
    # LATE is 22/11 in UTC but 00:30 on 23/11 in Hanoi: it belongs to the 23rd.
    on_23 = statuses(seeded, start=date(2026, 11, 23), end=date(2026, 11, 23))
    assert len(on_23) == 4
    on_22 = statuses(seeded, start=date(2026, 11, 22), end=date(2026, 11, 22))
    assert on_22 == [
        ("cum-loa-t1", "interrupted"),
        ("cum-loa-t2", "failed"),
        ("dai-xa", "finished"),
    ]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"site": "cum-loa-t2"}, [("cum-loa-t2", "failed"), ("cum-loa-t2", "scheduled")]),
        ({"status": "expired"}, [("cum-loa-t1", "expired")]),
        ({"zone": "thon-5"}, [("dai-xa", "finished")] * 3),
        ({"priority": "emergency", "status": "finished"}, [("dai-xa", "finished")]),
        ({"category": "thien-tai", "site": "cum-loa-t1"}, [("cum-loa-t1", "expired")]),
        # the campaign's category matches announcements of another category in it
        ({"category": "giam-ngheo", "site": "cum-loa-t1"}, [("cum-loa-t1", "interrupted")]),
        ({"commune": "Xã Không Có"}, []),
    ],
)
def test_filters(seeded, kw, expected) -> None:
    assert statuses(seeded, **kw) == expected


def test_announcement_and_campaign_filters(seeded) -> None:
    assert len(statuses(seeded, announcement=seeded.flood)) == 3
    assert len(statuses(seeded, campaign=seeded.campaign)) == 4
    assert len(statuses(seeded, commune="Xã Đắk Hà")) == 7


def test_sort_and_pagination(seeded) -> None:
    with seeded.factory() as s:
        first = page(s, LogFilter(sort="site", desc=False, per_page=25), TZ)
        assert [r.site_id for r in first.rows][:2] == ["cum-loa-t1", "cum-loa-t1"]
        p1 = page(s, LogFilter(sort="status", desc=False, per_page=25), TZ)
        assert [r.status for r in p1.rows] == sorted(r.status for r in p1.rows)
        everything = list(iter_rows(s, LogFilter(), TZ, limit=5))
    assert len(everything) == 5


def test_permalink_round_trips(seeded) -> None:
    f = LogFilter(start=date(2026, 11, 1), site="dai-xa", status="finished", desc=False, page=2)
    args = f.to_args()
    assert args == {
        "start": "2026-11-01",
        "site": "dai-xa",
        "status": "finished",
        "dir": "asc",
        "page": "2",
    }
    assert LogFilter.from_args(MultiDict(args)) == f
    assert LogFilter.from_args(MultiDict({"start": "garbage", "sort": "x", "per_page": "7"})) == (
        LogFilter()
    )
