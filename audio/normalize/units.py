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
    "m": "mét",
    "dm": "đề xi mét",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "ha": "héc ta",
    "tấn": "tấn",
    "tạ": "tạ",
    "kg": "ki lô gam",
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
    list(UNITS) + list(ATTACHED_UNITS) + ["%", "đồng", "đ", "₫", "$", "k", "tr", "h", "p", "s"]
)
