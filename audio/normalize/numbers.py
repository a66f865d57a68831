"""Vietnamese number reading: integers, digit strings, decimals, months and ordinals.

The rules are the standard ones: "mốt" for 1 after "mươi", "lăm" for 5 after "mười"/"mươi",
"linh" for a zero tens digit, "không trăm" inside a group that is not the first, and the
scale words nghìn, triệu, tỷ (a thousand tỷ is "nghìn tỷ", and so on).

>>> read_number(2026)
'hai nghìn không trăm hai mươi sáu'
>>> read_number(105)
'một trăm linh năm'
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
# 4 after "mươi" is read "tư" (hai mươi tư), as radio presenters do; "bốn" elsewhere.
UNIT_AFTER_MUOI = {1: "mốt", 4: "tư", 5: "lăm"}
SCALES = ("", "nghìn", "triệu")
BILLION = 1_000_000_000
MONTHS = {n: read for n, read in enumerate(DIGITS) if n} | {4: "tư", 10: "mười"}
MONTHS |= {11: "mười một", 12: "mười hai"}
ORDINALS = {1: "nhất", 4: "tư"}


def read_digits(digits: str) -> str:
    """Read a string of digits one by one: "112" -> "một một hai"."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def _read_tens(n: int) -> str:
    """0 < n < 100."""
    tens, unit = divmod(n, 10)
    if tens == 0:
        return DIGITS[unit]
    if tens == 1:
        head = "mười"
        tail = "lăm" if unit == 5 else DIGITS[unit]
    else:
        head = f"{DIGITS[tens]} mươi"
        tail = UNIT_AFTER_MUOI.get(unit, DIGITS[unit])
    return head if unit == 0 else f"{head} {tail}"


def _read_group(n: int, *, full: bool) -> str:
    """0 < n < 1000; full=True reads a leading zero hundreds digit ("không trăm")."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if rest:
        if words and rest < 10:
            words.append("linh")
        words.append(_read_tens(rest))
    return " ".join(words)


def _read_below_billion(n: int, *, full: bool) -> str:
    """0 < n < 10**9; full=True when something bigger precedes it."""
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        leading = not words and not full
        words.append(_read_group(group, full=not leading))
        if SCALES[index]:
            words.append(SCALES[index])
    return " ".join(words)


def read_number(n: int) -> str:
    """Read a non-negative integer in words."""
    if n < 0:
        raise ValueError(f"read_number takes non-negative integers, not {n}")
    if n == 0:
        return DIGITS[0]
    return _read(n, full=False)


def _read(n: int, *, full: bool) -> str:
    high, low = divmod(n, BILLION)
    words: list[str] = []
    if high:
        words += [_read(high, full=full), "tỷ"]
    if low:
        words.append(_read_below_billion(low, full=full or bool(high)))
    return " ".join(words)


def read_integer_text(text: str) -> str:
    """Read an integer as written: "100.000.000" or "2026"; leading zeros are dropped."""
    return read_number(int(text.replace(".", "")))


def read_decimal(integer: str, fraction: str) -> str:
    """Read "0" and "55" as "không phẩy năm mươi lăm"; leading zeros of the fraction one by one."""
    head = read_integer_text(integer)
    stripped = fraction.lstrip("0")
    zeros = len(fraction) - len(stripped)
    tail = [DIGITS[0]] * zeros
    if stripped:
        # Long fractions (more than three digits) are read digit by digit, as people do.
        tail.append(read_digits(stripped) if len(stripped) > 3 else read_number(int(stripped)))
    return f"{head} phẩy {' '.join(tail)}"


def read_month(n: int) -> str:
    """The month name: 4 is "tư", as in "tháng tư"."""
    if n not in MONTHS:
        raise ValueError(f"not a month: {n}")
    return MONTHS[n]


def read_ordinal(n: int) -> str:
    """What follows "thứ": 1 -> "nhất", 4 -> "tư", otherwise the number."""
    return ORDINALS.get(n, read_number(n))


def read_num(text: str) -> str:
    """Read a number as written: thousands dots, decimal comma, leading zeros digit by digit."""
    if "," in text:
        integer, fraction = text.split(",", 1)
        return read_decimal(integer or "0", fraction)
    if "." in text:
        return read_integer_text(text)
    if len(text) > 1 and text.startswith("0"):
        return read_digits(text)
    return read_number(int(text))


def read_fraction(num: str, den: str) -> str:
    """ "a phần b"; a quarter is "phần tư"."""
    b = int(den)
    return f"{read_number(int(num))} phần {'tư' if b == 4 else read_number(b)}"
