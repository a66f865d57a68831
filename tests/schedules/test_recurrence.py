"""Recurrence: the editor model ↔ RRULE, local-time expansion, validity windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr

from broadcaster.models import ScheduleItem
from schedules.recurrence import (
    Recurrence,
    RecurrenceError,
    expand,
    item_occurrences,
    next_occurrence,
    to_utc,
)

VN = "Asia/Ho_Chi_Minh"


def test_editor_round_trips_through_rrule() -> None:
    cases = [
        Recurrence(),
        Recurrence(days=("TH", "MO"), times=(time(17, 0),), until=date(2026, 12, 31)),
        Recurrence(interval=3, count=10, times=(time(6, 15), time(6, 45))),
        Recurrence(times=(time(6, 0), time(17, 30)), count=6),
    ]
    for rec in cases:
        assert Recurrence.from_rrule(rec.to_rrule()) == rec, rec.to_rrule()
    assert cases[1].days == ("MO", "TH")  # normalized order


def test_times_that_are_not_a_grid_use_bysetpos_and_count_counts_airings() -> None:
    rec = Recurrence(times=(time(6, 0), time(17, 30)), count=5)
    assert "BYSETPOS=1,4" in rec.to_rrule()
    rule = rrulestr(rec.to_rrule(), dtstart=datetime(2026, 12, 1))
    assert [t.strftime("%d %H:%M") for t in rule] == [
        "01 06:00", "01 17:30", "02 06:00", "02 17:30", "03 06:00",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": ("XX",)}, "unknown weekdays"),
        ({"interval": 0}, "every 0 days"),
        ({"until": date(2026, 1, 1), "count": 3}, "not both"),
        ({"count": 0}, "0 airings"),
    ],
)
def test_editor_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        Recurrence(**kwargs)


def test_rules_the_editor_cannot_show_are_refused_clearly() -> None:
    with pytest.raises(RecurrenceError, match="only daily"):
        Recurrence.from_rrule("FREQ=WEEKLY;BYDAY=MO")
    with pytest.raises(RecurrenceError, match="BYMONTH"):
        Recurrence.from_rrule("FREQ=DAILY;BYMONTH=1")


def test_expansion_is_in_local_time_and_returned_in_utc() -> None:
    # Mondays and Thursdays at 17:00 in Vietnam (UTC+7) = 10:00 UTC
    dtstart = to_utc(datetime(2026, 11, 30, 17, 0), VN)  # a Monday
    rule = Recurrence(days=("MO", "TH"), times=(time(17, 0),)).to_rrule()
    got = expand(rule, dtstart, dtstart, dtstart + timedelta(days=7))
    assert got == [datetime(2026, 11, 30, 10, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC)]


def test_validity_window_ends_the_series() -> None:
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 07:00 local
    item = ScheduleItem(
        id=7, start_at=start, rrule="FREQ=DAILY", valid_until=start + timedelta(days=2)
    )
    got = item_occurrences(item, start, start + timedelta(days=10))
    assert got == [start, start + timedelta(days=1), start + timedelta(days=2)]
    assert next_occurrence(item, start + timedelta(days=3)) is None
    one_off = ScheduleItem(id=8, start_at=start, valid_until=start - timedelta(hours=1))
    assert item_occurrences(one_off, start - timedelta(days=1), start + timedelta(days=1)) == []


def test_occurrence_ids_are_stable_across_windows() -> None:
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    item = ScheduleItem(id=3, start_at=start, rrule="FREQ=DAILY;COUNT=5")
    a = [item.occurrence_id(t) for t in item_occurrences(item, start, start + timedelta(days=3))]
    b = [
        item.occurrence_id(t)
        for t in item_occurrences(item, start + timedelta(days=1), start + timedelta(days=5))
    ]
    assert a[1:] == b[:2] and len(b) == 4


def test_invalid_rrule_text_is_a_recurrence_error() -> None:
    with pytest.raises(RecurrenceError, match="invalid RRULE"):
        expand(
            "FREQ=SOMETIMES",
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 2, tzinfo=UTC),
        )
