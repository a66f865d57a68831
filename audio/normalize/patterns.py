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
from audio.normalize.roman import CONTEXT as ROMAN_CONTEXT
from audio.normalize.roman import JOINER, NUMERAL, roman_value
from audio.normalize.times import (
    BEFORE_TIME,
    DURATION_CONTEXT,
    TIME_OF_DAY,
    read_clock,
    read_duration,
)
from audio.normalize.units import (
    ATTACHED_UNIT,
    DENOMINATOR,
    PER_WORDS,
    RANGE_SUFFIX,
    UNIT,
    UNITS,
    alternation,
    per_reading,
    unit_reading,
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
# A hotline: 1800 (free) or 1900 (paid) and four or six more digits.
HOTLINE = r"(?<![\w.,+])1[89]00(?:[ .\-]?\d{2,4}){1,2}(?![\w]|[.,]\d)"


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
    return _phone(m.group(0)) if len(digits) in (8, 10) else m.group(0)


def _place(m: re.Match[str]) -> str:
    following = m.string[m.end() : m.end() + 1]
    previous = re.search(r"([^\W\d_]+)\s+$", m.string[max(0, m.start() - 30) : m.start()])
    if not (following.isupper() or following.isdigit()):
        return m.group(0)  # a sentence ending in a letter: not a place
    if previous and previous[1][0].isupper() and not previous[1].isupper():
        return m.group(0)  # "Nguyễn Văn H. Đến nay": the initial of a name
    return f"{PLACES[m.group(1).lower()]} "


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


def _previous_word(m: re.Match[str]) -> str:
    words = re.findall(r"\w+", m.string[max(0, m.start() - 40) : m.start()])
    return words[-1].lower() if words else ""


def _after_weekday(m: re.Match[str]) -> bool:
    """ "thứ 2 1/5", "Chủ nhật, 3/5": a date follows a day of the week."""
    before = m.string[max(0, m.start() - 20) : m.start()]
    return bool(re.search(r"(?:thứ\s+\w+|chủ\s+nhật)\s*,?\s*$", before, re.IGNORECASE))


def _fraction(num: str, den: str) -> str:
    """ "a phần b"; a quarter is "phần tư"."""
    b = int(den)
    return f"{read_number(int(num))} phần {'tư' if b == 4 else read_number(b)}"


def _day_month(m: re.Match[str]) -> str:
    prefix, num, den = m.group(1, 2, 3)
    a, b = int(num), int(den)
    dated = prefix or _previous_word(m) in DATE_CONTEXT or _after_weekday(m)
    if dated or num.startswith("0") or den.startswith("0"):
        if _valid_date(a, b):
            return _date_words(prefix, num, den, None)
    if 0 < a < b <= 10:
        return glue(_fraction(num, den))
    if _valid_date(a, b):
        return _date_words(prefix, num, den, None)
    return glue(f"{read_num(num)} trên {read_num(den)}")


def _fraction_unit(m: re.Match[str]) -> str:
    """ "1/2kg", "2 1/2 m": a fraction of a unit."""
    whole, num, den, unit = m.group(1, 2, 3, 4)
    if int(den) == 0:
        return m.group(0)
    words = _fraction(num, den)
    if whole:
        words = f"{read_num(whole)} và {words}"
    return glue(f"{words} {unit_reading(unit)}")


def _mixed_number(m: re.Match[str]) -> str:
    """ "5 1/2" is "năm và một phần hai" (not after a date word: "ngày 23 1/5")."""
    whole, num, den = m.group(1, 2, 3)
    if not 0 < int(num) < int(den) or _previous_word(m) in DATE_CONTEXT | {"thứ", "tháng"}:
        return m.group(0)
    return glue(f"{read_num(whole)} và {_fraction(num, den)}")


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


def _clock(m: re.Match[str], hour: int, unit: str, minute: int) -> str:
    """ "bảy giờ ba mươi phút"; the match unchanged when the minutes are not a time."""
    if minute >= 60:
        return m.group(0)
    words = f"{read_number(hour)} {unit}"
    if minute:
        words += f" {read_number(minute)} phút"
    return glue(words)


def _hour_minute_second(m: re.Match[str]) -> str:
    return glue(read_clock(int(m.group(1)), int(m.group(2)), int(m.group(3))))


def _minute_second(m: re.Match[str]) -> str:
    """ "45:30" or "thời lượng 02:30": minutes and seconds; a time of day is left to _hour_minute."""
    context, minutes, seconds = m.group(1), int(m.group(2)), int(m.group(3))
    if not context and minutes <= 24:
        return m.group(0)
    return f"{context or ''}{glue(read_duration(minutes, seconds))}"


def _duration(m: re.Match[str]) -> str:
    """ "3p20s", "5p", "30s": minutes (p, ph) and seconds (s)."""
    minutes, seconds = m.group(1), m.group(2)
    if not minutes:
        return glue(f"{read_number(int(seconds))} giây")
    return glue(read_duration(int(minutes), int(seconds or 0)))


def _hour_minute(m: re.Match[str]) -> str:
    # group 3 is an optional written "phút" (or p, ph), consumed so it is not said twice
    return _clock(m, int(m.group(1)), "giờ", int(m.group(2)))


def _hour(m: re.Match[str]) -> str:
    return glue(f"{read_number(int(m.group(1)))} giờ")


def _hour_g(m: re.Match[str]) -> str:
    """ "9g tối", "lúc 9g", "7g đến 9g sáng": g is giờ next to a time of day, else grams."""
    before, first, joiner, second, part_of_day = m.group(1, 2, 3, 4, 5)
    if not (before or part_of_day):
        return m.group(0)
    words = f"{read_number(int(first))} giờ"
    if second:
        said = joiner.strip() if joiner.strip() in ("đến", "tới") else "đến"
        words += f" {said} {read_number(int(second))} giờ"
    return f"{before or ''}{glue(words)}"


def _gio(m: re.Match[str]) -> str:
    return _clock(m, int(m.group(1)), m.group(2), int(m.group(3)))


def _ordinal(m: re.Match[str]) -> str:
    return f"{m.group(1)} {glue(read_ordinal(int(m.group(2))))}"


_ROMAN_PARTS = re.compile(rf"({NUMERAL})|{JOINER}")


def _roman(m: re.Match[str]) -> str:
    """ "Chương II", "khoản I, II và III", "lần thứ XIII"; a malformed numeral stays as written."""
    word = m.group(1).split()[-1].lower()
    read = read_ordinal if word == "thứ" else read_number
    out, pos = [], 0
    for part in _ROMAN_PARTS.finditer(m.group(2)):
        if part.group(1):
            value = roman_value(part.group(1))
            if value is None:
                return m.group(0)
            out.append(glue(read(value)))
        else:
            joiner = part.group(0).strip()
            out.append({"": " ", ",": ", ", "-": " đến ", "–": " đến "}.get(joiner, f" {joiner} "))
        pos = part.end()
    if pos != len(m.group(2)):
        return m.group(0)
    year = f" năm {glue(read_number(int(m.group(3))))}" if m.group(3) else ""  # quý I/2026
    return f"{m.group(1)} {''.join(out)}{year}"


def _roman_heading(m: re.Match[str]) -> str:
    """ "II. Nội dung" at the start of a line: the section number."""
    value = roman_value(m.group(2))
    if value is None:
        return m.group(0)
    return f"{m.group(1)}{glue(read_number(value))}."


def _million_short(m: re.Match[str]) -> str:
    """ "1tr5" is 1,500,000 and "2k5" 2,500: the digits after tr/k are the next ones down."""
    whole, scale, rest = m.group(1), m.group(2).lower(), m.group(3)
    unit = 1_000_000 if scale == "tr" else 1_000
    value = int(whole) * unit + int(rest.ljust(3, "0")) * unit // 1000
    currency = " đồng" if m.group(4) else ""
    return glue(read_number(value) + currency)


def _unit(m: re.Match[str]) -> str:
    unit, denominator = m.group(2), m.group(3)
    reading = per_reading(unit, denominator) if denominator else unit_reading(unit)
    return f"{_num(m.group(1))} {glue(reading)}"


def _dot_decimal_unit(m: re.Match[str]) -> str:
    """ "1.5km": a decimal point written the English way, before a unit."""
    return glue(f"{read_decimal(m.group(1), m.group(2))} {unit_reading(m.group(3))}")


def _per(m: re.Match[str]) -> str:
    return f" một {glue(unit_reading(m.group(1)))}"


def _with(suffix: str) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        return f"{_num(m.group(1))} {suffix}"

    return replace


def _range(m: re.Match[str]) -> str:
    return f"{m.group(1) or ''} đến "


def _dotted(m: re.Match[str]) -> str:
    return glue(f"{read_num(m.group(1))} chấm {read_num(m.group(2))}")


PER = alternation([*PER_WORDS, "giờ", *(u for u in UNITS if len(u) > 1 and u[0].isalpha())])
DATE_PREFIX = r"(ngày\s+|mùng\s+|mồng\s+)"
CURRENCY = r"(?:đồng|đ|₫)"


def _rules() -> list[Rule]:
    i = re.IGNORECASE
    c = re.compile
    return [
        # Place abbreviations: "P. Tân Phú", "Q.1".
        (c(rf"(?<![\w.])([{''.join(PLACES)}])\.\s*(?=\w)", i), _place),
        # Phone numbers: after a keyword, hotlines, then anything that looks like a Vietnamese number.
        (
            c(rf"(?<!\w)({PHONE_CONTEXT})(\s*:?\s*(?:số\s+)?)(\+?\d+(?:[ .\-]\d+)*)(?!\w)", i),
            _phone_after_keyword,
        ),
        (c(HOTLINE), _hotline),
        (
            c(r"(?<![\w.,+])(?:\+84\s?|0|\(0)\d{2,4}\)?(?:[ .\-]?\d{2,4}){1,3}(?![\w]|[.,]\d)"),
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
            _hour_g,
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
        # "ngày 30-4": a hyphenated date after a date word, not a range (but "ngày 3-5 tháng 11" is).
        (
            c(rf"(?<!\w){DATE_PREFIX}(\d{{1,2}})-(\d{{1,2}})(?![\w/.\-]|,\d|\s+tháng\b)", i),
            _hyphen_date,
        ),
        # Clock times with seconds (5:20:35) and durations in minutes and seconds (45:30).
        (
            c(r"(?<![\w.,:/])([01]?\d|2[0-4]):([0-5]\d):([0-5]\d)(?![\d:]|[.,]\d)"),
            _hour_minute_second,
        ),
        (
            c(
                rf"((?:{DURATION_CONTEXT})\s+)?(?<![\w.,:/])(\d{{1,2}}):([0-5]\d)(?![\d:]|[.,]\d)",
                i,
            ),
            _minute_second,
        ),
        # Ranges: "2021 - 2025", "5-7", "7h30 - 11h00", "3kg-6kg", "50.000đ-100.000đ" read with "đến".
        (
            c(rf"(?<=\d)({RANGE_SUFFIX})?\s*[-–—]\s*(?=(?:thứ\s+|ngày\s+)?\$?\d)", i),
            _range,
        ),
        # Negative numbers: -5°C, -3/4.
        (c(r"(?:(?<=\s)|(?<=^)|(?<=\())[-−](?=\d)"), lambda m: "âm "),
        # Fractions: of a unit (1/2kg, 2 1/2 m), mixed numbers (5 1/2).
        (
            c(rf"(?<![\w.,/])(?:(\d+)\s+)?(\d+)/(\d+)\s?({UNIT})(?![\w²³/])"),
            _fraction_unit,
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
            _hour_minute,
        ),
        (c(r"(?<![\w.,:/])([01]?\d|2[0-4])\s?[hH](?!\w)"), _hour),
        (c(r"(?<![\w.,])(\d{1,2})\s+(giờ)\s+(\d{1,2})(?!\d)(?!\s*phút)", i), _gio),
        (c(rf"{_B}(\d{{1,3}})\s?(?:ph|p)(?:\s?(\d{{1,2}})\s?s)?(?!\w)"), _duration),
        (c(rf"{_B}()(\d{{1,3}})\s?s(?!\w)"), _duration),
        # Ordinals, weekdays and roman numerals: thứ 2, thứ 4, lần thứ IV, Chương II, Điều IV.
        (c(rf"(?<!\w)(thứ)\s+(\d{{1,2}}){_E}", i), _ordinal),
        (
            c(
                rf"(?<!\w)((?i:{ROMAN_CONTEXT}))\s+({NUMERAL}(?:(?i:{JOINER}){NUMERAL})*)"
                rf"(?:/(\d{{4}}))?(?![\w/])"
            ),
            _roman,
        ),
        (c(rf"(?m)^(\s*)({NUMERAL})[.)](?=\s)"), _roman_heading),
        # Money, percentages, units.
        (c(r"(?<!\w)(?:vnd|vnđ)(?!\w)", i), lambda m: "đồng"),
        (c(r"(?<!\w)usd(?!\w)", i), lambda m: glue("đô la mỹ")),
        (c(rf"{_B}(\d{{1,3}})\s?(tr|k)(\d{{1,3}})(\s?{CURRENCY})?(?!\w)", i), _million_short),
        (c(rf"{_B}({NUM})\s?{CURRENCY}(?!\w)", i), _with("đồng")),
        (c(rf"{_B}({NUM})\s?k(?!\w)"), _with("nghìn")),
        (c(rf"{_B}({NUM})\s?tr(?!\w)"), _with("triệu")),
        (c(rf"\$\s?({NUM})(?!\w)"), _with(glue("đô la"))),
        (c(rf"{_B}({NUM})\s?\$"), _with(glue("đô la"))),
        (c(rf"{_B}({NUM})\s?%"), _with(glue("phần trăm"))),
        (c(rf"{_B}(\d+)\.(\d{{1,2}})\s?({UNIT})(?![\w²³])"), _dot_decimal_unit),
        (c(rf"{_B}({NUM})\s?({UNIT})(?:/({DENOMINATOR}))?(?![\w²³])"), _unit),
        (c(rf"{_B}({NUM})({ATTACHED_UNIT})(?:/({DENOMINATOR}))?(?![\w²³])"), _unit),
        (c(r"(?<!\w)độ C(?!\w)"), lambda m: glue("độ xê")),
        (c(rf"\s*/\s*({PER})(?!\w)", i), _per),
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
