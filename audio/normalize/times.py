"""Clock times and durations in words: "7 giờ 30 phút 15 giây", "3 phút 20 giây".

Zero minutes and seconds are not said ("8:00:00" is "tám giờ"), as a presenter reads a clock.

>>> read_clock(5, 20, 35)
'năm giờ hai mươi phút ba mươi lăm giây'
>>> read_clock(3, 0, 3)
'ba giờ ba giây'
>>> read_duration(5, 0)
'năm phút'
"""

from __future__ import annotations

from audio.normalize.numbers import read_number

# What follows "9g" when it is a clock time, not nine grams: a part of the day or a day.
TIME_OF_DAY = (
    r"(?:sáng|trưa|chiều|tối|đêm|khuya|hôm)(?!\w)|(?:ngày|mùng|mồng)\s+\d|cùng\s+ngày"
    r"|thứ\s+(?:\d|hai|ba|tư|năm|sáu|bảy|bẩy)(?!\w)|chủ\s+nhật"
)
# Words before "9g" that make it a clock time.
BEFORE_TIME = r"lúc|đúng"
# Words after which "mm:ss" is a duration (minutes and seconds), not a time of day.
DURATION_CONTEXT = r"thời\s+lượng|kéo\s+dài|thành\s+tích|trong\s+vòng"


def read_clock(hour: int, minute: int, second: int = 0) -> str:
    """ "H giờ M phút S giây" without the zero parts (the hour is always said)."""
    words = [read_number(hour), "giờ"]
    if minute:
        words += [read_number(minute), "phút"]
    if second:
        words += [read_number(second), "giây"]
    return " ".join(words)


def read_duration(minutes: int, seconds: int) -> str:
    """ "M phút S giây"; zero seconds are not said, zero minutes are when nothing else is."""
    words = []
    if minutes or not seconds:
        words += [read_number(minutes), "phút"]
    if seconds:
        words += [read_number(seconds), "giây"]
    return " ".join(words)
