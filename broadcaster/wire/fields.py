"""Field encoding shared by the protocol v1 message types: the schema header, wire times, ids,
and typed look-ups that raise :class:`ProtocolError` ("malformed") for anything else, including
numbers out of their field's range, texts longer than their field allows and times outside
2000..2100."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .bounded import MAX_INT, MAX_STRING, check_text
from .errors import ProtocolError

SCHEMA = 1
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
TARGET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # same as wire.topics.valid_id
# Wire times outside this range are refused: a year-1 time overflows on conversion, and no
# broadcast happens before the system existed or after it is gone.
TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)
MAX_TIME_CHARS = 40
MAX_IDS = 1000  # targets of a command, keys of a keys update


def to_wire_time(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_wire_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError("malformed", f"{name}: expected a time string")
    if len(value) > MAX_TIME_CHARS:
        raise ProtocolError("malformed", f"{name}: not a time")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ProtocolError("malformed", f"{name}: time without timezone")
        dt = dt.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ProtocolError("malformed", f"{name}: bad time {value!r}") from None
    if not TIME_MIN <= dt < TIME_MAX:
        raise ProtocolError("malformed", f"{name}: {value!r} is out of range")
    return dt


def _check(value: Any, kind: type | tuple[type, ...], where: str, bounds: Bounds) -> Any:
    """``value`` if it is of ``kind`` and within ``bounds``, else ProtocolError("malformed")."""
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ProtocolError("malformed", f"{where}: wrong type")
    if isinstance(value, str):
        check_text(value, where, bounds.max_len)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError("malformed", f"{where}: not a finite number")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not bounds.lo <= value <= bounds.hi:
            raise ProtocolError("malformed", f"{where}: out of range {bounds.lo}..{bounds.hi}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


@dataclass(frozen=True)
class Bounds:
    """The range of a number field, the length of a text field."""

    lo: int = -MAX_INT - 1
    hi: int = MAX_INT
    max_len: int = MAX_STRING


ANY = Bounds()
POSITIVE = Bounds(lo=1)
NATURAL = Bounds(lo=0)
INT32 = Bounds(lo=1, hi=2**31 - 1)  # seqs and row ids the database keeps as INTEGER
# An announcement id on the wire: a row id, or 0 for a relay (schedules.planner.RELAY_ANNOUNCEMENT_ID)
ANNOUNCEMENT_ID = Bounds(lo=0, hi=2**31 - 1)
SHORT = Bounds(max_len=64)  # ids
TEXT = Bounds(max_len=1000)


def require(
    d: Any, key: str, kind: type | tuple[type, ...], name: str, bounds: Bounds = ANY
) -> Any:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", f"{name}: expected an object")
    if key not in d:
        raise ProtocolError("malformed", f"{name}: missing {key!r}")
    return _check(d[key], kind, f"{name}.{key}", bounds)


def optional(
    d: Any, key: str, kind: type | tuple[type, ...], name: str, bounds: Bounds = ANY
) -> Any:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", f"{name}: expected an object")
    value = d.get(key)
    if value is None:
        return None
    return _check(value, kind, f"{name}.{key}", bounds)


def _preview(value: Any) -> str:
    """At most 20 characters of an untrusted value for an error message (``str`` of an int
    over 4,300 digits raises, so a large int is only named)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "<a very large integer>"
    return repr(value)[:20] if not isinstance(value, str) else repr(value[:20])


def check_header(d: Any, expected_type: str) -> None:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", "payload is not an object")
    version, kind = d.get("v"), d.get("type")
    if version != SCHEMA or isinstance(version, bool | float):
        raise ProtocolError("unsupported-version", f"schema {_preview(version)}")
    if kind != expected_type:
        raise ProtocolError("wrong-type", f"expected {expected_type}, got {_preview(kind)}")


def id_list(d: dict[str, Any], key: str, name: str, max_len: int = 64) -> tuple[str, ...]:
    value = d.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("malformed", f"{name}.{key}: expected a list of ids")
    if len(value) > MAX_IDS:
        raise ProtocolError("malformed", f"{name}.{key}: more than {MAX_IDS} entries")
    return tuple(check_text(v, f"{name}.{key}", max_len) for v in value)
