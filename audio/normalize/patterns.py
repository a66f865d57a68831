"""Rewrite rules from written forms (dates, times, money, units, phone numbers…) to words.

Each rule is a compiled pattern and a function of its match. Rules run in order, the specific
ones (phone numbers, dates, times) before the generic number reading. The words of one reading
are joined with GLUE (a no-break space) so the splitter never cuts a number in two. The
readings of times, Roman numerals and units live in times.py, roman.py and units.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from audio.normalize.glue import glue
from audio.normalize.numbers import (
    read_digits,
    read_fraction,
    read_month,
    read_num,
    read_number,
    read_ordinal,
)
from audio.normalize.roman import CONTEXT as ROMAN_CONTEXT
from audio.normalize.roman import JOINER, NUMERAL, roman_heading, roman_reference
from audio.normalize.times import (
    BEFORE_TIME,
    DURATION_CONTEXT,
    TIME_OF_DAY,
    duration,
    hour,
    hour_g,
    hour_minute,
    hour_minute_second,
    hour_then_minutes,
    minute_second,
)
from audio.normalize.units import (
    ATTACHED_UNIT,
    CURRENCY,
    DENOMINATOR,
    PER,
    RANGE_SUFFIX,
    UNIT,
    amount_with,
    dot_decimal_quantity,
    fraction_of_unit,
    height,
    per_thing,
    quantity,
    short_amount,
)

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

# A written number: 1.234.567 (dots group thousands) or 1234, either with a ",5" fraction.
NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_B = r"(?=\d)(?<![\w.,/:])"  # a digit, with nothing number-like just before
_E = r"(?![\w/]|[.,:]\d)"  # and nothing number-like just after

# Words after which "d/m" is a date rather than a fraction.
DATE_CONTEXT = {
    "ngày", "mùng", "mồng", "hôm", "sáng", "trưa", "chiều", "tối", "đêm", "từ", "đến", "tới",
    "và", "hoặc", "trước", "sau", "nay", "lúc", "giờ", "hạn", "tính",
}  # fmt: skip
# Words before "N/YYYY" that count within a year ("quý 1/2026", "quý I/2026", "đợt 2/2026").
NUMBERED_IN_YEAR = {"quý", "đợt", "kỳ", "kì"}
# Words before a house or lane number written with slashes ("số 12/3", "hẻm 45/7").
ADDRESS_WORDS = {"số", "nhà", "hẻm", "ngõ", "ngách", "kiệt", "lô"}
# Counters after "tháng N" that make N a count, not a month ("mỗi tháng 4 lần").
COUNTERS = "lần|buổi|đợt|ngày|người|hộ|khẩu|suất|kỳ|lượt|tuần"
PHONE_CONTEXT = (
    r"điện thoại|đt|sđt|gọi(?:\s+số)?|gọi\s+tới\s+số|gọi\s+đến\s+số|hotline|đường\s+dây\s+nóng"
    r"|tổng\s+đài|fax|zalo|số\s+máy"
)
EMERGENCY = ("111", "112", "113", "114", "115")
# Place abbreviations with a dot, before a name or a number: "P. Tân Phú", "Q.1", "H. Đắk Hà".
# (The two-letter ones, tp. tx. tt., are lexicon data.)
PLACES = {"p": "phường", "q": "quận", "h": "huyện", "x": "xã"}
# Before a title, "P." is phó (deputy) and "Q." quyền (acting): "P.Giám đốc", "Q. Trưởng phòng".
TITLED = {"p": "phó", "q": "quyền"}
TITLE = re.compile(
    r"\s*(?:trưởng|giám\s+đốc|chủ\s+tịch|bí\s+thư|hiệu\s+trưởng|chánh|tổng|viện\s+trưởng"
    r"|GĐ|TGĐ)(?!\w)",
    re.IGNORECASE,
)
# A hotline: 1800 (free) or 1900 (paid) and four or six more digits.
HOTLINE = r"(?<![\w.,+])1[89]00(?:[ .\-]?\d{2,4}){1,2}(?![\w]|[.,]\d)"


def _num(text: str) -> str:
    return glue(read_num(text))


def _phone(number: str) -> str:
    """Digit by digit, keeping the writer's grouping: "0260 3861 234"."""
    groups = [g for g in re.split(r"[ .\-()]+", number.strip()) if g]
    words = []
    for group in groups:
        if group.startswith("+"):
            words.append("cộng " + read_digits(group))
        else:
            words.append(read_digits(group))
    return glue(" ".join(words))


def _phone_after_keyword(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}{_phone(m.group(3))}"


def _phone_after_keyword_2(m: re.Match[str]) -> str:
    return f"{m.group(1)}{_phone(m.group(2))}"


def _bare_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if not 9 <= len(digits) <= 12:
        return m.group(0)
    return _phone(m.group(0))


def _hotline(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if len(digits) not in (8, 10) or re.fullmatch(r"1[89]00-(?:1[89]|20)\d\d", m.group(0)):
        return m.group(0)  # "1900-1945" is a span of years
    return _phone(m.group(0))


def _place(m: re.Match[str]) -> str:
    following = m.string[m.end() : m.end() + 1]
    previous = re.search(r"([^\W\d_]+)\s+$", m.string[max(0, m.start() - 30) : m.start()])
    if not (following.isupper() or following.isdigit()):
        return m.group(0)  # a sentence ending in a letter: not a place
    if previous and previous[1][0].isupper() and not previous[1].isupper():
        return m.group(0)  # "Nguyễn Văn H. Đến nay": the initial of a name
    letter = m.group(1).lower()
    if letter in TITLED and TITLE.match(m.string, m.end()):
        return f"{TITLED[letter]} "
    return f"{PLACES[letter]} "


def _valid_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _date_words(prefix: str | None, day: str, month: str, year: str | None) -> str:
    head = prefix if prefix else "ngày "
    words = f"{read_number(int(day))} tháng {read_month(int(month))}"
    if year:
        words += f" năm {read_number(int(year))}"
    return head + glue(words)


def _dmy_groups(m: re.Match[str]) -> str:
    prefix, day, month, year = m.group(1), m.group(2), m.group(4), m.group(5)
    if not _valid_date(int(day), int(month)):
        return m.group(0)
    return _date_words(prefix, day, month, year)


def _iso_date(m: re.Match[str]) -> str:
    year, month, day = m.group(1, 2, 3)
    if not _valid_date(int(day), int(month)):
        return m.group(0)
    return _date_words(None, day, month, year)


def _hyphen_date(m: re.Match[str]) -> str:
    prefix, day, month = m.group(1, 2, 3)
    if not _valid_date(int(day), int(month)):
        return m.group(0)
    return _date_words(prefix, day, month, None)


def _hyphen_date_pair(m: re.Match[str]) -> str:
    """ "từ 20-11 đến 25-11", "ngày 30-4 và 1-5": two hyphenated dates, each read as a date."""
    prefix, day1, month1, joiner, day2, month2 = m.group(1, 2, 3, 4, 5, 6)
    if not (_valid_date(int(day1), int(month1)) and _valid_date(int(day2), int(month2))):
        return m.group(0)
    dated = re.search(r"ngày|mùng", prefix, re.IGNORECASE)
    span = prefix.strip().lower() == "từ" and joiner.strip().lower() in ("đến", "tới")
    if not (dated or span):
        return m.group(0)  # "lớp 1-2 và 3-5": two ranges
    if not re.search(r"(?:ngày|mùng)\s+$", prefix, re.IGNORECASE):
        prefix += "ngày "
    first = _date_words(prefix, day1, month1, None)
    return f"{first}{joiner}{_date_words(None, day2, month2, None)}"


def _previous_word(m: re.Match[str]) -> str:
    words = re.findall(r"\w+", m.string[max(0, m.start() - 40) : m.start()])
    return words[-1].lower() if words else ""


def _after_weekday(m: re.Match[str]) -> bool:
    """ "thứ 2 1/5", "Chủ nhật, 3/5": a date follows a day of the week."""
    before = m.string[max(0, m.start() - 20) : m.start()]
    return bool(re.search(r"(?:thứ\s+\w+|chủ\s+nhật)\s*,?\s*$", before, re.IGNORECASE))


def _day_month(m: re.Match[str]) -> str:
    prefix, num, den = m.group(1, 2, 3)
    a, b = int(num), int(den)
    dated = prefix or _previous_word(m) in DATE_CONTEXT or _after_weekday(m)
    if dated or num.startswith("0") or den.startswith("0"):
        if _valid_date(a, b):
            return _date_words(prefix, num, den, None)
    if 0 < a < b <= 10:
        return glue(read_fraction(num, den))
    if _valid_date(a, b):
        return _date_words(prefix, num, den, None)
    return glue(f"{read_num(num)} trên {read_num(den)}")


def _mixed_number(m: re.Match[str]) -> str:
    """ "5 1/2" is "năm và một phần hai" (not after a date word: "ngày 23 1/5")."""
    whole, num, den = m.group(1, 2, 3)
    if not 0 < int(num) < int(den) or _previous_word(m) in DATE_CONTEXT | {"thứ", "tháng"}:
        return m.group(0)
    return glue(f"{read_num(whole)} và {read_fraction(num, den)}")


def _month_year(m: re.Match[str]) -> str:
    month, year = int(m.group(2)), int(m.group(3))
    previous = _previous_word(m)
    if previous in NUMBERED_IN_YEAR:  # "quý 1/2026": the first quarter of 2026
        return glue(f"{read_number(month)} năm {read_number(year)}")
    if not 1 <= month <= 12 or previous in ADDRESS_WORDS:
        return m.group(0)
    head = m.group(1) or "tháng"
    return f"{head} {glue(f'{read_month(month)} năm {read_number(year)}')}"


def _address_number(m: re.Match[str]) -> str:
    """ "số 12/3", "hẻm 45/7/2": a house or lane number, its parts joined by "xẹt" (slash)."""
    parts = m.group(2).split("/")
    return f"{m.group(1)}{glue(' xẹt '.join(read_num(p) for p in parts))}"


def _month(m: re.Match[str]) -> str:
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return m.group(0)
    return f"{m.group(1)} {glue(read_month(month))}"


def _weekday(m: re.Match[str]) -> str:
    """ "T2" is thứ hai; "T2-T6" thứ hai đến thứ sáu."""
    words = f"thứ {read_ordinal(int(m.group(1)))}"
    if m.group(2):
        words += f" đến thứ {read_ordinal(int(m.group(2)))}"
    return glue(words)


def _ordinal(m: re.Match[str]) -> str:
    return f"{m.group(1)} {glue(read_ordinal(int(m.group(2))))}"


def _range(m: re.Match[str]) -> str:
    return f"{m.group(1) or ''} đến "


def _dotted(m: re.Match[str]) -> str:
    return glue(f"{read_num(m.group(1))} chấm {read_num(m.group(2))}")


DATE_PREFIX = r"(ngày\s+|mùng\s+|mồng\s+)"


def _rules() -> list[Rule]:
    i = re.IGNORECASE
    c = re.compile
    return [
        # Place abbreviations: "P. Tân Phú", "Q.1".
        (c(rf"(?<![\w.])([{''.join(PLACES)}])\.\s*(?=\w)", i), _place),
        # Phone numbers: after a keyword, hotlines, then anything that looks like a Vietnamese number.
        (
            c(
                rf"(?<!\w)({PHONE_CONTEXT})(\s*:?\s*(?:số\s+)?)(\(?\+?\d+\)?(?:[ .\-]\d+)*)(?!\w)",
                i,
            ),
            _phone_after_keyword,
        ),
        (c(HOTLINE), _hotline),
        (
            c(
                r"(?<![\w.,+])(?:\(?\+84\)?\s?|0|\(0)\d{2,4}\)?(?:[ .\-]?\d{1,4}){1,4}"
                r"(?![\w]|[.,]\d)"
            ),
            _bare_phone,
        ),
        (c(rf"(?<!\w)(số\s+)({'|'.join(EMERGENCY)})(?!\w|[.,]\d)", i), _phone_after_keyword_2),
        # "9g tối", "lúc 9g", "7g-9g sáng": hours written with g (before the dates: "9g ngày 20/11").
        (
            c(
                rf"((?:{BEFORE_TIME})\s+)?(?<![\w.,:/])([01]?\d|2[0-4])\s?g"
                rf"(?:(\s*[-–]\s*|\s+(?:đến|tới)\s+)([01]?\d|2[0-4])\s?g)?(?!\w)"
                rf"(?=(\s*,?\s*(?:{TIME_OF_DAY}))?)",
                i,
            ),
            hour_g,
        ),
        # House and lane numbers: "số 12/3", "hẻm 45/7/2" (not "số 15/2026", a document's year).
        (
            c(
                r"(?<!\w)((?:số|nhà|hẻm|ngõ|ngách|kiệt|lô)\s+)(\d{1,4}(?:/\d{1,3})+)(?![\w/]|[.,]\d)",
                re.I,
            ),
            _address_number,
        ),
        # Dates with a year: 3/11/2026, 03-11-2026, 3.11.2026, 2026-11-03.
        (
            c(rf"(?<![\w.,/]){DATE_PREFIX}?(\d{{1,2}})([/.\-])(\d{{1,2}})\3(\d{{4}}){_E}", i),
            _dmy_groups,
        ),
        (c(rf"(?<![\w.,/])(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_E}"), _iso_date),
        (c(rf"(tháng)\s+(\d{{1,2}})\s*[/\-.]\s*(\d{{4}}){_E}", i), _month_year),
        (c(rf"(tháng)\s+(\d{{1,2}})\s+((?:19|20)\d\d){_E}", i), _month_year),
        (c(rf"(?<![\w.,/])()(\d{{1,2}})/(\d{{4}}){_E}"), _month_year),
        # "từ 20-11 đến 25-11", "ngày 30-4 và 1-5": two hyphenated dates, not two ranges.
        (
            c(
                rf"(?<![\w.,/])((?:từ\s+)?(?:ngày\s+)?|ngày\s+|mùng\s+)(\d{{1,2}})-(\d{{1,2}})"
                rf"(\s+(?:đến|tới|và|hoặc)\s+(?:ngày\s+)?|\s*,\s*)(\d{{1,2}})-(\d{{1,2}})"
                rf"(?![\w/.\-]|,\d|\s+(?:{COUNTERS}|tháng|năm|giờ|tuổi)\b)",
                i,
            ),
            _hyphen_date_pair,
        ),
        # "ngày 30-4": a hyphenated date after a date word, not a range (but "ngày 3-5 tháng 11" is).
        (
            c(rf"(?<!\w){DATE_PREFIX}(\d{{1,2}})-(\d{{1,2}})(?![\w/.\-]|,\d|\s+tháng\b)", i),
            _hyphen_date,
        ),
        # Clock times with seconds (5:20:35) and durations in minutes and seconds (45:30).
        (
            c(r"(?<![\w.,:/])([01]?\d|2[0-4]):([0-5]\d):([0-5]\d)(?![\d:]|[.,]\d)"),
            hour_minute_second,
        ),
        (
            c(
                rf"((?:{DURATION_CONTEXT})\s+)?(?<![\w.,:/])(\d{{1,2}}):([0-5]\d)(?![\d:]|[.,]\d)",
                i,
            ),
            minute_second,
        ),
        # Ranges: "2021 - 2025", "5-7", "7h30 - 11h00", "3kg-6kg", "50.000đ-100.000đ" read with "đến".
        (
            c(rf"(?<=\d)(\s?(?:{RANGE_SUFFIX})(?!\w))?\s*[-–—]\s*(?=(?:thứ\s+|ngày\s+)?\$?\d)", i),
            _range,
        ),
        # Negative numbers: -5°C, -3/4.
        (c(r"(?:(?<=\s)|(?<=^)|(?<=\())[-−](?=\d)"), lambda m: "âm "),
        # Fractions: of a unit (1/2kg, 2 1/2 m), mixed numbers (5 1/2).
        (
            c(rf"(?<![\w.,/])(?:(\d+)\s+)?(\d+)/(\d+)\s?({UNIT})(?![\w²³/])"),
            fraction_of_unit,
        ),
        (c(r"(?<![\w.,/])(\d+)\s+(\d+)/(\d+)(?![\w/]|[.,]\d)"), _mixed_number),
        # Dates without a year (or fractions): 24/11, ngày 8/12.
        (c(rf"(?<![\w.,/]){DATE_PREFIX}?(\d{{1,2}})/(\d{{1,2}}){_E}", i), _day_month),
        (c(rf"(?<!\w)(tháng)\s+(\d{{1,2}}){_E}(?!\s+(?:{COUNTERS})\b)", i), _month),
        # Times: 7h30, 14h15, 7:30, 7g30, 1h30p, 7h, 9g tối, 7 giờ 30, 3p20s, 5p, 30s.
        (
            c(
                r"(?<![\w.,:/])([01]?\d|2[0-4])\s?[hHgG:]\s?([0-5]\d)(?!\d)(\s*(?:phút|ph|p|')(?!\w))?"
            ),
            hour_minute,
        ),
        (c(r"(?<![\w.,:/])([01]?\d|2[0-4])\s?[hH](?!\w)"), hour),
        (c(r"(?<![\w.,])(\d{1,2})\s+(giờ)\s+(\d{1,2})(?!\d)(?!\s*phút)", i), hour_then_minutes),
        (c(rf"{_B}(\d{{1,3}})\s?(?:ph|p)(?:\s?(\d{{1,2}})\s?s)?(?!\w)"), duration),
        (c(rf"{_B}()(\d{{1,3}})\s?s(?!\w)"), duration),
        # Ordinals, weekdays and roman numerals: thứ 2, thứ 4, lần thứ IV, Chương II, Điều IV.
        (c(rf"(?<!\w)(thứ)\s+(\d{{1,2}}){_E}", i), _ordinal),
        (c(r"(?<![\w.])T([2-7])(?:\s*[-–]\s*T([2-7]))?(?![\w.,/])"), _weekday),
        (
            c(
                rf"(?<!\w)((?i:{ROMAN_CONTEXT}))\s+({NUMERAL}(?:(?i:{JOINER}){NUMERAL})*)"
                rf"(?:/(\d{{4}})|\.(\d{{1,2}}))?(?![\w/]|[.,]\d)"
            ),
            roman_reference,
        ),
        (c(rf"(?m)^(\s*)({NUMERAL})[.)](?=\s)"), roman_heading),
        # Money, percentages, units.
        (c(rf"{_B}({NUM})\s?(?:vnd|vnđ)(?!\w)", i), amount_with("đồng")),
        (c(rf"{_B}({NUM})\s?usd(?!\w)", i), amount_with(glue("đô la mỹ"))),
        (c(r"(?<!\w)(?:vnd|vnđ)(?!\w)", i), lambda m: "đồng"),
        (c(r"(?<!\w)usd(?!\w)", i), lambda m: glue("đô la mỹ")),
        (
            c(rf"{_B}(\d+)\.(\d{{1,2}})(?=\s?(?:%|triệu|tỷ|nghìn|tr(?!\w)|k(?!\w)))"),
            lambda m: f"{m.group(1)},{m.group(2)}",  # "1.5 triệu", "2.5%": a decimal point
        ),
        (c(rf"{_B}(\d{{1,3}})\s?(tr|k)(\d{{1,3}})(\s?{CURRENCY})?(?!\w)", i), short_amount),
        (c(rf"{_B}({NUM})\s?{CURRENCY}(?!\w)", i), amount_with("đồng")),
        (c(rf"{_B}({NUM})\s?k(?!\w)"), amount_with("nghìn")),
        (c(rf"{_B}({NUM})\s?tr(?!\w)"), amount_with("triệu")),
        (c(rf"\$\s?({NUM})(?!\w)"), amount_with(glue("đô la"))),
        (c(rf"€\s?({NUM})(?!\w)"), amount_with(glue("ơ rô"))),
        (c(rf"{_B}({NUM})\s?€"), amount_with(glue("ơ rô"))),
        (c(rf"{_B}({NUM})\s?\$"), amount_with(glue("đô la"))),
        (c(rf"{_B}({NUM})\s?%"), amount_with(glue("phần trăm"))),
        (c(rf"{_B}(\d+)\.(\d{{1,2}})\s?({UNIT})(?![\w²³])"), dot_decimal_quantity),
        (c(rf"{_B}(\d)m(\d{{2}})(?!\w|[.,]\d)"), height),
        (c(rf"{_B}({NUM})\s?({UNIT})(?:/({DENOMINATOR}))?(?![\w²³])"), quantity),
        (c(rf"{_B}({NUM})({ATTACHED_UNIT})(?:/({DENOMINATOR}))?(?![\w²³])"), quantity),
        (c(r"(?<!\w)độ C(?!\w)"), lambda m: glue("độ xê")),
        (c(rf"\s*/\s*({PER})(?!\w)", i), per_thing),
        # Everything else that is a number.
        (c(rf"{_B}(\d+)\.(\d{{1,2}}|\d{{4,}}){_E}"), _dotted),
        (c(rf"{_B}({NUM}){_E}"), lambda m: _num(m.group(1))),
        # Digits stuck to letters (A1, x2): read them as numbers too.
        (c(r"(?<=[^\W\d_])(\d+)|(\d+)(?=[^\W\d_])"), lambda m: f" {_num(m.group(0))} "),
        (c(r"\d+"), lambda m: f" {_num(m.group(0))} "),
    ]


RULES = _rules()


def apply_rules(text: str) -> str:
    """Apply every rule in order."""
    for pattern, replace in RULES:
        text = pattern.sub(replace, text)
    return text
