"""Vietnamese number reading: the standard rules (mốt, lăm, tư, linh, mươi, không trăm, scales)."""

from __future__ import annotations

import pytest

from audio.normalize.numbers import (
    read_decimal,
    read_digits,
    read_month,
    read_number,
    read_ordinal,
)


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "không"),
        (1, "một"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (19, "mười chín"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (30, "ba mươi"),
        (55, "năm mươi lăm"),
        (71, "bảy mươi mốt"),
        (99, "chín mươi chín"),
        (100, "một trăm"),
        (101, "một trăm linh một"),
        (104, "một trăm linh bốn"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (111, "một trăm mười một"),
        (115, "một trăm mười lăm"),
        (121, "một trăm hai mươi mốt"),
        (127, "một trăm hai mươi bảy"),
        (300, "ba trăm"),
        (1000, "một nghìn"),
        (1001, "một nghìn không trăm linh một"),
        (1005, "một nghìn không trăm linh năm"),
        (1010, "một nghìn không trăm mười"),
        (1015, "một nghìn không trăm mười lăm"),
        (1050, "một nghìn không trăm năm mươi"),
        (1500, "một nghìn năm trăm"),
        (2021, "hai nghìn không trăm hai mươi mốt"),
        (2025, "hai nghìn không trăm hai mươi lăm"),
        (2026, "hai nghìn không trăm hai mươi sáu"),
        (10_000, "mười nghìn"),
        (15_000, "mười lăm nghìn"),
        (21_000, "hai mươi mốt nghìn"),
        (50_000, "năm mươi nghìn"),
        (100_000, "một trăm nghìn"),
        (105_000, "một trăm linh năm nghìn"),
        (1_000_000, "một triệu"),
        (1_000_050, "một triệu không trăm năm mươi"),
        (1_000_500, "một triệu năm trăm"),
        (1_005_000, "một triệu không trăm linh năm nghìn"),
        (2_350_000, "hai triệu ba trăm năm mươi nghìn"),
        (100_000_000, "một trăm triệu"),
        (152_500_000, "một trăm năm mươi hai triệu năm trăm nghìn"),
        (1_000_000_000, "một tỷ"),
        (1_500_000_000, "một tỷ năm trăm triệu"),
        (2_000_000_005, "hai tỷ không trăm linh năm"),
        (15_000_000_000, "mười lăm tỷ"),
        (1_000_000_000_000, "một nghìn tỷ"),
        (1_200_000_000_000, "một nghìn hai trăm tỷ"),
    ],
)
def test_read_number(n: int, spoken: str) -> None:
    assert read_number(n) == spoken


def test_negative_is_rejected() -> None:
    with pytest.raises(ValueError):
        read_number(-1)


@pytest.mark.parametrize(
    ("integer", "fraction", "spoken"),
    [
        ("0", "55", "không phẩy năm mươi lăm"),
        ("3", "5", "ba phẩy năm"),
        ("12", "25", "mười hai phẩy hai mươi lăm"),
        ("3", "05", "ba phẩy không năm"),
        ("1", "125", "một phẩy một trăm hai mươi lăm"),
        ("2", "71828", "hai phẩy bảy một tám hai tám"),
        ("1.500", "5", "một nghìn năm trăm phẩy năm"),
    ],
)
def test_read_decimal(integer: str, fraction: str, spoken: str) -> None:
    assert read_decimal(integer, fraction) == spoken


def test_read_digits() -> None:
    assert read_digits("0260") == "không hai sáu không"
    assert read_digits("112") == "một một hai"


@pytest.mark.parametrize(
    ("n", "spoken"),
    [(1, "một"), (4, "tư"), (5, "năm"), (10, "mười"), (11, "mười một"), (12, "mười hai")],
)
def test_read_month(n: int, spoken: str) -> None:
    assert read_month(n) == spoken


@pytest.mark.parametrize("n", [0, 13])
def test_bad_month(n: int) -> None:
    with pytest.raises(ValueError):
        read_month(n)


@pytest.mark.parametrize(
    ("n", "spoken"),
    [(1, "nhất"), (2, "hai"), (4, "tư"), (7, "bảy"), (10, "mười"), (14, "mười bốn")],
)
def test_read_ordinal(n: int, spoken: str) -> None:
    assert read_ordinal(n) == spoken
