"""The filtered playback log on SQLite and PostgreSQL: every filter, sort, paging, permalink."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from officers_seed import LATE, add_playback
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from broadcaster.models import Playback
from broadcaster.queries import logs
from broadcaster.queries.logs import LogFilter, iter_rows, page
from broadcaster.scope import Scope

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


@pytest.mark.parametrize("few", [True, False], ids=["sorted-here", "sorted-by-sql"])
def test_offset_pages_agree_with_the_order(seeded, few: bool, monkeypatch) -> None:
    if not few:
        monkeypatch.setattr(logs, "SORT_FEW", 0)
    with seeded.factory() as s:
        for sort in ("scheduled", "site", "status"):
            f = LogFilter(sort=sort, per_page=3)
            everything = [r.id for r in iter_rows(s, f, TZ, limit=100)]
            pages = [[r.id for r in page(s, replace(f, page=n), TZ).rows] for n in (1, 2, 3)]
            assert [i for chunk in pages for i in chunk] == everything


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


@pytest.mark.parametrize("sort", ["scheduled", "site", "status", "announcement"])
@pytest.mark.parametrize("desc", [True, False])
@pytest.mark.parametrize("few", [True, False], ids=["sorted-here", "sorted-by-sql"])
def test_keyset_paging_walks_every_row_once_both_ways(
    seeded, sort: str, desc: bool, few: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages by cursor (after the last row, before the first) cover the view in its order,
    ties (three airings at the same minute) and a NULL announcement included; both when the
    page is sorted in Python (few matches) and by the database's ORDER BY with the cursor's
    condition (many)."""
    if not few:
        monkeypatch.setattr(logs, "SORT_FEW", 0)
    with seeded.factory() as s, s.begin():
        add_playback(s, "dai-xa", None, LATE, "failed", item_id="orphan")  # type: ignore[arg-type]
    with seeded.factory() as s:
        f = LogFilter(sort=sort, desc=desc, per_page=2)
        everything = [r.id for r in iter_rows(s, f, TZ, limit=100)]
        assert len(everything) == 8
        pages, p = [], page(s, f, TZ)
        assert not p.has_prev and p.prev_before is None
        while True:
            pages.append([r.id for r in p.rows])
            if p.next_after is None:
                break
            p = page(s, replace(f, after=p.next_after), TZ)
            assert p.has_prev
        assert [i for chunk in pages for i in chunk] == everything
        assert [len(chunk) for chunk in pages] == [2, 2, 2, 2] and not p.has_next
        back = []
        while p.prev_before is not None:
            p = page(s, replace(f, before=p.prev_before), TZ)
            back.append([r.id for r in p.rows])
        assert back == pages[-2::-1]  # the same pages, walking back to the first


def test_a_cursor_outside_the_scope_or_unknown_starts_at_the_first_page(seeded) -> None:
    with seeded.factory() as s:
        first = page(s, LogFilter(per_page=2), TZ)
        assert page(s, LogFilter(per_page=2, after=999_999), TZ).rows == first.rows
        nothing = Scope(frozenset({-1}))
        assert page(s, LogFilter(per_page=2, after=first.next_after), TZ, nothing).rows == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lũ quét", 3),  # a title (PostgreSQL folds case; SQLite only ASCII, so keep it exact)
        ("Cụm loa thôn 2", 2),  # a site's name
        ("dai-xa", 3),  # a site's id
        ("50%_", 0),  # LIKE's wildcards are literal
    ],
)
def test_search(seeded, q: str, expected: int) -> None:
    with seeded.factory() as s:
        assert page(s, LogFilter(q=q), TZ).total == expected


def test_priority_is_the_airings_own(seeded) -> None:
    """The priority filter reads the airing's column, set from its announcement when the row is
    made (here by the ORM default; by the plan item in publish, by the announcement in ingest)."""
    with seeded.factory() as s:
        rows = s.scalars(select(Playback.priority).where(Playback.announcement_id == seeded.flood))
        assert set(rows) == {"emergency"}
        assert page(s, LogFilter(priority="emergency"), TZ).total == 3
        assert page(s, LogFilter(priority="normal"), TZ).total == 4
