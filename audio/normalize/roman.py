"""Roman numerals in references: "Chương II", "Điều IV", "khoản III", "thế kỷ XXI", "quý IV".

A Roman numeral is read only after a word that numbers things (chương, điều, khoản, mục, phần,
phụ lục, thế kỷ, khóa, quý, lần thứ…) or as a heading at the start of a line ("II. Nội dung"),
never on its own: "khu C", "mục D", "Vitamin C" are letters. A single letter is taken as a
numeral only for I, V and X, the labels C, D, L and M being far commoner than 100, 500, 50, 1000.

>>> roman_value("XIV"), roman_value("MCMXCIX"), roman_value("IIII")
(14, 1999, None)
"""

from __future__ import annotations

import re

from audio.normalize.glue import glue
from audio.normalize.numbers import read_number, read_ordinal

VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
# Well-formed numerals only (IV, not IIII; XC, not LXL), 1 to 3999.
_WELL_FORMED = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
NUMERAL = r"(?:[IVXLCDM]{2,}|[IVX])"
# Words after which a numeral is a number; the reading is a cardinal ("chương hai"), and an
# ordinal after "thứ" ("lần thứ I" is "lần thứ nhất").
CONTEXT = (
    r"chương|điều|khoản|mục|tiểu\s+mục|phần|đoạn|tiết|phụ\s+lục|biểu|tập|quyển|bài|số|loại|hạng"
    r"|nhóm|vùng|khu\s+vực|cấp|quý|khóa|khoá|kỳ|kì|nhiệm\s+kỳ|đại\s+hội|hội\s+nghị|thế\s+kỷ"
    r"|thế\s+kỉ|lần\s+thứ|thứ|năm|giai\s+đoạn|đợt"
)
# "Chương I, II và III", "khoản I - III": numerals listed after one context word.
JOINER = r"\s*,\s*|\s+(?:và|hoặc|đến|tới)\s+|\s*[-–]\s*"


def roman_value(token: str) -> int | None:
    """The value of a well-formed Roman numeral, or None."""
    if not token or not _WELL_FORMED.fullmatch(token):
        return None
    total = 0
    for index, ch in enumerate(token):
        value = VALUES[ch]
        following = VALUES[token[index + 1]] if index + 1 < len(token) else 0
        total += -value if value < following else value
    return total


_ROMAN_PARTS = re.compile(rf"({NUMERAL})|{JOINER}")


def roman_reference(m: re.Match[str]) -> str:
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
    tail = ""
    if m.group(3):  # "quý I/2026"
        tail = f" năm {glue(read_number(int(m.group(3))))}"
    elif m.group(4):  # "Mục II.3": a subsection, read like "mục 2.3"
        tail = f" chấm {glue(read_number(int(m.group(4))))}"
    return f"{m.group(1)} {''.join(out)}{tail}"


def roman_heading(m: re.Match[str]) -> str:
    """ "II. Nội dung" at the start of a line: the section number."""
    value = roman_value(m.group(2))
    if value is None:
        return m.group(0)
    return f"{m.group(1)}{glue(read_number(value))}."
