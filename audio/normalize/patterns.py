"""Rewrite rules from written forms (dates, times, money, units, phone numbers…) to words.

Each rule is a compiled pattern and a function of its match. Rules run in order, the specific
ones (phone numbers, dates, times) before the generic number reading. The words of one reading
are joined with GLUE (a no-break space) so the splitter never cuts a number in two.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from audio.normalize.numbers import (
    read_decimal,
    read_digits,
    read_integer_text,
    read_month,
    read_number,
    read_ordinal,
)

GLUE = "\u00a0"
Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

# A written number: 1.234.567 (dots group thousands) or 1234, either with a ",5" fraction.
NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_B = r"(?<![\w.,/:])"  # nothing number-like just before
_E = r"(?![\w/]|[.,:]\d)"  # and nothing number-like just after

# Words after which "d/m" is a date rather than a fraction.
DATE_CONTEXT = {
    "ngày", "mùng", "mồng", "hôm", "sáng", "trưa", "chiều", "tối", "đêm", "từ", "đến", "tới",
    "và", "hoặc", "trước", "sau", "nay", "lúc", "giờ", "hạn", "tính",
}  # fmt: skip
# Counters after "tháng N" that make N a count, not a month ("mỗi tháng 4 lần").
COUNTERS = "lần|buổi|đợt|ngày|người|hộ|khẩu|suất|kỳ|lượt|tuần"
PHONE_CONTEXT = (
    r"điện thoại|đt|sđt|gọi(?:\s+số)?|gọi\s+tới\s+số|gọi\s+đến\s+số|hotline|đường\s+dây\s+nóng"
    r"|tổng\s+đài|fax|zalo|số\s+máy"
)
EMERGENCY = ("111", "112", "113", "114", "115")
UNITS = {
    "km/h": "ki lô mét trên giờ",
    "km/giờ": "ki lô mét trên giờ",
    "m/s": "mét trên giây",
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "km": "ki lô mét",
    "m": "mét",
    "ha": "héc ta",
    "kg": "ki lô gam",
    "mg": "mi li gam",
    "g": "gam",
    "ml": "mi li lít",
    "l": "lít",
    "kWh": "ki lô oát giờ",
    "kW": "ki lô oát",
    "MW": "mê ga oát",
    "W": "oát",
    "V": "vôn",
    "°C": "độ xê",
    "° C": "độ xê",
    "độ C": "độ xê",
    "°": "độ",
}
PER_UNITS = "ngày|tháng|năm|tuần|giờ|người|hộ|khẩu|con|lần|suất|kg|ha|sào|tấn|lít|m2|m²|km"
ROMAN_CONTEXT = r"quý|khóa|kỳ|đại\s+hội|chương|phần|thế\s+kỷ|lần\s+thứ|thứ"
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def glue(words: str) -> str:
    """Join the words of one reading with no-break spaces."""
    return GLUE.join(words.split())


def read_num(text: str) -> str:
    """Read a written number: thousands dots, decimal comma, leading zeros digit by digit."""
    if "," in text:
        integer, fraction = text.split(",", 1)
        return read_decimal(integer or "0", fraction)
    if "." in text:
        return read_integer_text(text)
    if len(text) > 1 and text.startswith("0"):
        return read_digits(text)
    return read_number(int(text))


def _num(text: str) -> str:
    return glue(read_num(text))


def _phone(number: str) -> str:
    """Digit by digit, keeping the writer's grouping: "0260 3861 234"."""
    groups = re.split(r"[ .\-]", number.strip())
    words = []
    for group in groups:
        if group.startswith("+"):
            words.append("cộng " + read_digits(group))
        else:
            words.append(read_digits(group))
    return glue(" ".join(words))


def _phone_after_keyword(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}{_phone(m.group(3))}"


def _bare_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if not 9 <= len(digits) <= 12:
        return m.group(0)
    return _phone(m.group(0))


def _valid_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _date_words(prefix: str | None, day: str, month: str, year: str | None) -> str:
    head = prefix if prefix else "ngày "
    words = f"{read_number(int(day))} tháng {read_month(int(month))}"
    if year:
        words += f" năm {read_number(int(year))}"
    return head + glue(words)


def _iso_date(m: re.Match[str]) -> str:
    year, month, day = m.group(1, 2, 3)
    if not _valid_date(int(day), int(month)):
        return m.group(0)
    return _date_words(None, day, month, year)


def _previous_word(m: re.Match[str]) -> str:
    words = re.findall(r"\w+", m.string[max(0, m.start() - 40) : m.start()])
    return words[-1].lower() if words else ""


def _day_month(m: re.Match[str]) -> str:
    prefix, num, den = m.group(1, 2, 3)
    a, b = int(num), int(den)
    if prefix or _previous_word(m) in DATE_CONTEXT or num.startswith("0") or den.startswith("0"):
        if _valid_date(a, b):
            return _date_words(prefix, num, den, None)
    if 0 < a < b <= 10:
        fraction = "tư" if b == 4 else read_number(b)
        return glue(f"{read_number(a)} phần {fraction}")
    if _valid_date(a, b):
        return _date_words(prefix, num, den, None)
    return glue(f"{read_num(num)} trên {read_num(den)}")


def _month_year(m: re.Match[str]) -> str:
    month, year = int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12:
        return m.group(0)
    head = m.group(1) or "tháng"
    return f"{head} {glue(f'{read_month(month)} năm {read_number(year)}')}"


def _month(m: re.Match[str]) -> str:
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return m.group(0)
    return f"{m.group(1)} {glue(read_month(month))}"


def _clock(m: re.Match[str], hour: int, unit: str, minute: int) -> str:
    """ "bảy giờ ba mươi phút"; the match unchanged when the minutes are not a time."""
    if minute >= 60:
        return m.group(0)
    words = f"{read_number(hour)} {unit}"
    if minute:
        words += f" {read_number(minute)} phút"
    return glue(words)


def _hour_minute(m: re.Match[str]) -> str:
    # group 3 is an optional written "phút", consumed so it is not said twice
    return _clock(m, int(m.group(1)), "giờ", int(m.group(2)))


def _hour(m: re.Match[str]) -> str:
    return glue(f"{read_number(int(m.group(1)))} giờ")


def _ordinal(m: re.Match[str]) -> str:
    return f"{m.group(1)} {glue(read_ordinal(int(m.group(2))))}"


def _roman_value(token: str) -> int | None:
    total, prev = 0, 0
    for ch in reversed(token):
        value = ROMAN[ch]
        total = total - value if value < prev else total + value
        prev = max(prev, value)
    return total if 0 < total < 200 else None


def _roman(m: re.Match[str]) -> str:
    value = _roman_value(m.group(2))
    if value is None:
        return m.group(0)
    word = m.group(1).split()[-1].lower()
    reading = read_ordinal(value) if word == "thứ" else read_number(value)
    return f"{m.group(1)} {glue(reading)}"


def _unit(m: re.Match[str]) -> str:
    return f"{_num(m.group(1))} {glue(UNITS[m.group(2)])}"


def _per(m: re.Match[str]) -> str:
    return f" một {m.group(1)}"


def _with(suffix: str) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        return f"{_num(m.group(1))} {suffix}"

    return replace


def _unit_alternation() -> str:
    return "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))


def _rules() -> list[Rule]:
    i = re.IGNORECASE
    c = re.compile
    return [
        # Phone numbers: after a keyword, then anything that looks like a Vietnamese number.
        (
            c(rf"(?<!\w)({PHONE_CONTEXT})(\s*:?\s*(?:số\s+)?)(\+?\d+(?:[ .\-]\d+)*)(?!\w)", i),
            _phone_after_keyword,
        ),
        (c(r"(?<![\w.,+])(?:\+84\s?|0)\d{2,4}(?:[ .\-]?\d{2,4}){1,3}(?![\w]|[.,]\d)"), _bare_phone),
        (c(rf"(?<!\w)(số\s+)({'|'.join(EMERGENCY)})(?!\w|[.,]\d)", i), _phone_after_keyword_2),
        # Dates with a year: 3/11/2026, 03-11-2026, 3.11.2026, 2026-11-03.
        (
            c(
                rf"(?<![\w.,/])(ngày\s+|mùng\s+|mồng\s+)?(\d{{1,2}})([/.\-])(\d{{1,2}})\3(\d{{4}}){_E}",
                i,
            ),
            _dmy_groups,
        ),
        (c(rf"(?<![\w.,/])(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_E}"), _iso_date),
        (c(rf"(tháng)\s+(\d{{1,2}})/(\d{{4}}){_E}", i), _month_year),
        (c(rf"(?<![\w.,/])()(\d{{1,2}})/(\d{{4}}){_E}"), _month_year),
        # Ranges: "2021 - 2025", "5-7", "7h30 - 11h00" read with "đến".
        (c(r"(?<=\d)(h|%|°C)?\s*[-–—]\s*(?=(?:thứ\s+|ngày\s+)?\d)", i), _range),
        # Dates without a year (or fractions): 24/11, ngày 8/12.
        (c(rf"(?<![\w.,/])(ngày\s+|mùng\s+|mồng\s+)?(\d{{1,2}})/(\d{{1,2}}){_E}", i), _day_month),
        (c(rf"(?<!\w)(tháng)\s+(\d{{1,2}}){_E}(?!\s+(?:{COUNTERS})\b)", i), _month),
        # Times: 7h30, 14h15, 7:30, 7g30, 7h, 7 giờ 30.
        (c(r"(?<![\w.,:/])([01]?\d|2[0-4])\s?[hHgG:]\s?([0-5]\d)(?!\d)(\s*phút)?"), _hour_minute),
        (c(r"(?<![\w.,:/])([01]?\d|2[0-4])\s?[hH](?!\w)"), _hour),
        (c(r"(?<![\w.,])(\d{1,2})\s+(giờ)\s+(\d{1,2})(?!\d)(?!\s*phút)", i), _gio),
        # Ordinals, weekdays and roman numerals: thứ 2, thứ 4, lần thứ IV, quý III.
        (c(rf"(?<!\w)(thứ)\s+(\d{{1,2}}){_E}", i), _ordinal),
        (c(rf"(?<!\w)({ROMAN_CONTEXT})\s+([IVXLC]+)(?!\w)", i), _roman),
        # Negative numbers: -5°C.
        (c(r"(?:(?<=\s)|(?<=^)|(?<=\())[-−](?=\d)"), lambda m: "âm "),
        # Money, percentages, units.
        (c(rf"{_B}({NUM})\s?(?:đồng|đ)(?!\w)", i), _with("đồng")),
        (c(rf"{_B}({NUM})\s?k(?!\w)"), _with("nghìn")),
        (c(rf"{_B}({NUM})\s?tr(?!\w)"), _with("triệu")),
        (c(rf"\$\s?({NUM})(?!\w)"), _with("đô la")),
        (c(rf"{_B}({NUM})\s?%"), _with("phần trăm")),
        (c(rf"{_B}({NUM})\s?({_unit_alternation()})(?![\w²³])"), _unit),
        (c(r"(?<!\w)độ C(?!\w)"), lambda m: glue("độ xê")),
        (c(rf"\s*/\s*({PER_UNITS})(?!\w)", i), _per),
        # Everything else that is a number.
        (c(rf"{_B}(\d+)\.(\d{{1,2}}|\d{{4,}}){_E}"), _dotted),
        (c(rf"{_B}({NUM}){_E}"), lambda m: _num(m.group(1))),
        # Digits stuck to letters (A1, x2): read them as numbers too.
        (c(r"(?<=[^\W\d_])(\d+)|(\d+)(?=[^\W\d_])"), lambda m: f" {_num(m.group(0))} "),
        (c(r"\d+"), lambda m: f" {_num(m.group(0))} "),
    ]


def _phone_after_keyword_2(m: re.Match[str]) -> str:
    return f"{m.group(1)}{_phone(m.group(2))}"


def _dmy_groups(m: re.Match[str]) -> str:
    prefix, day, month, year = m.group(1), m.group(2), m.group(4), m.group(5)
    if not _valid_date(int(day), int(month)):
        return m.group(0)
    return _date_words(prefix, day, month, year)


def _range(m: re.Match[str]) -> str:
    return f"{m.group(1) or ''} đến "


def _gio(m: re.Match[str]) -> str:
    return _clock(m, int(m.group(1)), m.group(2), int(m.group(3)))


def _dotted(m: re.Match[str]) -> str:
    return glue(f"{read_num(m.group(1))} chấm {read_num(m.group(2))}")


RULES = _rules()


def apply_rules(text: str) -> str:
    """Apply every rule in order."""
    for pattern, replace in RULES:
        text = pattern.sub(replace, text)
    return text
