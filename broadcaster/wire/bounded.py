"""Bounded JSON parsing of every wire message: depth, integer size, numbers, string and list
lengths are checked while (or before) parsing, so a hostile payload costs a
:class:`ProtocolError` ("malformed"), never a RecursionError, OverflowError or ValueError.

>>> loads(b'{"seq": 1}')
{'seq': 1}
>>> loads(b'[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]')
Traceback (most recent call last):
...
broadcaster.wire.errors.ProtocolError: malformed: nested deeper than 10
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from .errors import ProtocolError

MAX_BYTES = 4 * 1024 * 1024  # a signed plan of a busy site is a few hundred KiB at most
MAX_DEPTH = 10  # the deepest message (envelope → plan → items → item → media) is 5
MAX_INT = 2**63 - 1  # what a database BIGINT holds; wider fields bound themselves lower
MAX_NUMBER_CHARS = 32  # "-9223372036854775808" is 20
MAX_STRING = 8192  # characters in any one string (fields bound themselves lower)
MAX_LIST = 5000  # entries in any one list (a plan's items over its 48 h horizon)
MAX_KEYS = 64  # members of any one object

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]")
_STEP = str.maketrans({"[": "+", "{": "+", "]": "-", "}": "-"})


def _refuse(detail: str) -> ProtocolError:
    return ProtocolError("malformed", detail)


def depth_of(text: str) -> int:
    """The deepest bracket nesting of a JSON text (strings ignored), without recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).translate(_STEP)
    return max(accumulate(1 if c == "+" else -1 for c in brackets), default=0)


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _refuse(f"integer of {len(text)} digits")
    value = int(text)
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise _refuse(f"integer {text} out of range")
    return value


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _refuse(f"number of {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _refuse(f"number {text} out of range")
    return value


def _constant(name: str) -> Any:
    raise _refuse(f"{name} is not JSON")


def check_value(value: Any, name: str = "payload", *, plain_text: bool = False) -> None:
    """Raise ProtocolError unless ``value`` (already parsed, or built by hand) is within the
    bounds: depth, list and object sizes, string lengths and code points, finite numbers.
    ``plain_text``: its strings are known to hold no NUL and no lone surrogate (parsed from
    UTF-8 JSON without a ``\\u`` escape), so only their lengths are checked."""
    check = _check_length if plain_text else check_text
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            if depth > MAX_DEPTH:
                raise _refuse(f"{name}: nested deeper than {MAX_DEPTH}")
            if len(v) > MAX_KEYS:
                raise _refuse(f"{name}: object of {len(v)} members")
            for k, item in v.items():
                if isinstance(k, str):
                    check(k, name)
                stack.append((item, depth + 1))
        elif isinstance(v, list):
            if depth > MAX_DEPTH:
                raise _refuse(f"{name}: nested deeper than {MAX_DEPTH}")
            if len(v) > MAX_LIST:
                raise _refuse(f"{name}: list of {len(v)} entries")
            stack.extend((item, depth + 1) for item in v)
        elif isinstance(v, str):
            check(v, name)
        elif isinstance(v, float) and not math.isfinite(v):
            raise _refuse(f"{name}: number {v} out of range")
        elif isinstance(v, int) and not isinstance(v, bool) and not -MAX_INT - 1 <= v <= MAX_INT:
            raise _refuse(f"{name}: integer out of range")


def _check_length(value: str, name: str) -> None:
    if len(value) > MAX_STRING:
        raise _refuse(f"{name}: string of {len(value)} characters (at most {MAX_STRING})")


def check_text(value: str, name: str, max_len: int = MAX_STRING) -> str:
    """``value`` if it is at most ``max_len`` characters of storable text (no NUL, no lone
    surrogate: PostgreSQL and SQLite refuse both), else ProtocolError."""
    if len(value) > max_len:
        raise _refuse(f"{name}: string of {len(value)} characters (at most {max_len})")
    if "\x00" in value:
        raise _refuse(f"{name}: string with a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(f"{name}: string with a lone surrogate") from None
    return value


def loads(data: bytes | str, max_bytes: int = MAX_BYTES) -> Any:
    """Parse a wire message within the bounds, or raise ProtocolError("malformed")."""
    if len(data) > max_bytes:
        raise _refuse(f"{len(data)} bytes (at most {max_bytes})")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise _refuse("not UTF-8") from None
    opened = text.count("[") + text.count("{")
    if opened > MAX_DEPTH and depth_of(text) > MAX_DEPTH:
        raise _refuse(f"nested deeper than {MAX_DEPTH}")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise _refuse(f"not JSON: {exc}") from None
    except RecursionError:  # unreachable after depth_of; kept as the last line of defence
        raise _refuse(f"nested deeper than {MAX_DEPTH}") from None
    # Bytes that decode as UTF-8 hold no lone surrogate, and json refuses raw control
    # characters: only a \u escape can put a NUL or a lone surrogate in a string then (the
    # common case has none). A str argument may hold anything.
    check_value(value, plain_text=isinstance(data, bytes) and "\\u" not in text)
    return value
