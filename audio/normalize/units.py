"""Units of measure and currencies as written after a number, and how they are said.

Symbols are matched case-sensitively ("MW" is not "mW"); the lower-case spellings people type
("kw", "v", "°c") are listed as symbols of their own. A compound "A/B" is read "A trên B"
when both are units ("km/h", "mg/ml"); a price or amount "per" a thing is read "một B"
("50.000đ/ngày", "100₫/kg": the way a market seller says it).

>>> unit_reading("kg")
'ki lô gam'
>>> per_reading("m", "s")
'mét trên giây'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from audio.normalize.glue import glue
from audio.normalize.numbers import read_decimal, read_fraction, read_num, read_number

UNITS = {
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "cm²": "xen ti mét vuông",
    "cm2": "xen ti mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "cm³": "xen ti mét khối",
    "cm3": "xen ti mét khối",
    "km": "ki lô mét",
    "Km": "ki lô mét",
    "KM": "ki lô mét",
    "m": "mét",
    "dm": "đề xi mét",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "ha": "héc ta",
    "tấn": "tấn",
    "tạ": "tạ",
    "kg": "ki lô gam",
    "Kg": "ki lô gam",
    "KG": "ki lô gam",
    "g": "gam",
    "mg": "mi li gam",
    "l": "lít",
    "lít": "lít",
    "ml": "mi li lít",
    "kWh": "ki lô oát giờ",
    "kwh": "ki lô oát giờ",
    "kW": "ki lô oát",
    "kw": "ki lô oát",
    "MW": "mê ga oát",
    "W": "oát",
    "kV": "ki lô vôn",
    "kv": "ki lô vôn",
    "V": "vôn",
    "°C": "độ xê",
    "ºC": "độ xê",
    "oC": "độ xê",
    "℃": "độ xê",
    "°c": "độ xê",
    "° C": "độ xê",
    "độ C": "độ xê",
    "°F": "độ ép",
    "°": "độ",
}
# Lower-case letters that are units only when stuck to the number ("220v", not "thôn 5 v").
ATTACHED_UNITS = {"v": "vôn"}
# Units that only make sense after "/" (km/h, m/s, m/min) and the time words written out.
TIME_UNITS = {
    "h": "giờ",
    "giờ": "giờ",
    "min": "phút",
    "phút": "phút",
    "s": "giây",
    "giây": "giây",
}
# Things an amount is "per", read "một ..." ("50 kg/hộ": năm mươi ki lô gam một hộ).
PER_WORDS = ("ngày", "tháng", "năm", "tuần", "người", "hộ", "khẩu", "con", "lần", "suất", "sào")


def unit_reading(symbol: str) -> str:
    """How a unit symbol is said."""
    return UNITS.get(symbol) or ATTACHED_UNITS.get(symbol) or TIME_UNITS.get(symbol) or symbol


def per_reading(unit: str, denominator: str) -> str:
    """A compound unit: "A trên B" between two units, "A một B" per a counted thing."""
    if denominator in PER_WORDS:
        return f"{unit_reading(unit)} một {denominator}"
    return f"{unit_reading(unit)} trên {unit_reading(denominator)}"


def alternation(symbols: list[str] | tuple[str, ...] | dict[str, str]) -> str:
    """A regex alternation of symbols, longest first (so "km" is tried before "m")."""
    return "|".join(re.escape(s) for s in sorted(symbols, key=len, reverse=True))


UNIT = alternation(UNITS)
ATTACHED_UNIT = alternation(ATTACHED_UNITS)
DENOMINATOR = alternation(list(UNITS) + list(TIME_UNITS) + list(PER_WORDS))
# What may follow a number and be said again at the end of a range: "3kg-6kg", "10$-20$".
RANGE_SUFFIX = alternation(
    [*UNITS, *ATTACHED_UNITS, "%", "đồng", "đ", "₫", "$", "k", "tr", "h", "p", "s"]
    + ["nghìn", "triệu", "tỷ", "giờ", "phút", "giây", "ngày", "tuần", "tháng", "tuổi", "người"]
)
PER = alternation([*PER_WORDS, "giờ", *(u for u in UNITS if len(u) > 1 and u[0].isalpha())])
CURRENCY = r"(?:đồng|đ|₫)"


# Rule handlers (a regex match in, the words out; see patterns.py for the patterns).
def fraction_of_unit(m: re.Match[str]) -> str:
    """ "1/2kg", "2 1/2 m": a fraction of a unit."""
    whole, num, den, unit = m.group(1, 2, 3, 4)
    if int(den) == 0:
        return m.group(0)
    words = read_fraction(num, den)
    if whole:
        words = f"{read_num(whole)} và {words}"
    return glue(f"{words} {unit_reading(unit)}")


def short_amount(m: re.Match[str]) -> str:
    """ "1tr5" is 1,500,000 and "2k5" 2,500: the digits after tr/k are the next ones down."""
    whole, scale, rest = m.group(1), m.group(2).lower(), m.group(3)
    unit = 1_000_000 if scale == "tr" else 1_000
    value = int(whole) * unit + int(rest.ljust(3, "0")) * unit // 1000
    currency = " đồng" if m.group(4) else ""
    return glue(read_number(value) + currency)


def quantity(m: re.Match[str]) -> str:
    """ "50 kg", "120km/h", "50 kg/hộ": the number, then the unit."""
    unit, denominator = m.group(2), m.group(3)
    reading = per_reading(unit, denominator) if denominator else unit_reading(unit)
    return f"{glue(read_num(m.group(1)))} {glue(reading)}"


def height(m: re.Match[str]) -> str:
    """ "1m65": a person's height, "một mét sáu mươi lăm"."""
    return glue(f"{read_number(int(m.group(1)))} mét {read_number(int(m.group(2)))}")


def dot_decimal_quantity(m: re.Match[str]) -> str:
    """ "1.5km": a decimal point written the English way, before a unit."""
    return glue(f"{read_decimal(m.group(1), m.group(2))} {unit_reading(m.group(3))}")


def per_thing(m: re.Match[str]) -> str:
    """ "/ngày", "/kg" after an amount: "một ngày", "một ki lô gam"."""
    return f" một {glue(unit_reading(m.group(1)))}"


def amount_with(suffix: str) -> Callable[[re.Match[str]], str]:
    """A handler reading group 1 as a number followed by suffix ("đồng", "phần trăm")."""

    def replace(m: re.Match[str]) -> str:
        return f"{glue(read_num(m.group(1)))} {suffix}"

    return replace
