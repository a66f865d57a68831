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

import re

from audio.normalize.glue import glue
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


# Rule handlers (a regex match in, the words out; see patterns.py for the patterns).
def _clock(m: re.Match[str], hour: int, unit: str, minute: int) -> str:
    """ "bảy giờ ba mươi phút"; the match unchanged when the minutes are not a time."""
    if minute >= 60:
        return m.group(0)
    words = f"{read_number(hour)} {unit}"
    if minute:
        words += f" {read_number(minute)} phút"
    return glue(words)


def hour_minute_second(m: re.Match[str]) -> str:
    """ "5:20:35": hours, minutes and seconds."""
    return glue(read_clock(int(m.group(1)), int(m.group(2)), int(m.group(3))))


def minute_second(m: re.Match[str]) -> str:
    """ "45:30" or "thời lượng 02:30": minutes and seconds; a time of day is left to hour_minute."""
    context, minutes, seconds = m.group(1), int(m.group(2)), int(m.group(3))
    if not context and minutes <= 24:
        return m.group(0)
    return f"{context or ''}{glue(read_duration(minutes, seconds))}"


def duration(m: re.Match[str]) -> str:
    """ "3p20s", "5p", "30s": minutes (p, ph) and seconds (s)."""
    minutes, seconds = m.group(1), m.group(2)
    if not minutes:
        return glue(f"{read_number(int(seconds))} giây")
    return glue(read_duration(int(minutes), int(seconds or 0)))


def hour_minute(m: re.Match[str]) -> str:
    """ "7h30", "7:30", "7g30", "1h30p"."""
    # group 3 is an optional written "phút" (or p, ph), consumed so it is not said twice
    return _clock(m, int(m.group(1)), "giờ", int(m.group(2)))


def hour(m: re.Match[str]) -> str:
    """ "7h": the hour alone."""
    return glue(f"{read_number(int(m.group(1)))} giờ")


def hour_g(m: re.Match[str]) -> str:
    """ "9g tối", "lúc 9g", "7g đến 9g sáng": g is giờ next to a time of day, else grams."""
    before, first, joiner, second, part_of_day = m.group(1, 2, 3, 4, 5)
    if not (before or part_of_day):
        return m.group(0)
    words = f"{read_number(int(first))} giờ"
    if second:
        said = joiner.strip() if joiner.strip() in ("đến", "tới") else "đến"
        words += f" {said} {read_number(int(second))} giờ"
    return f"{before or ''}{glue(words)}"


def hour_then_minutes(m: re.Match[str]) -> str:
    """ "7 giờ 30": the minutes gain "phút"."""
    return _clock(m, int(m.group(1)), m.group(2), int(m.group(3)))
