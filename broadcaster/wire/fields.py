"""Field encoding shared by the protocol v1 message types: the schema header, wire times, ids,
and typed look-ups that raise :class:`ProtocolError` ("malformed") for anything else."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .errors import ProtocolError

SCHEMA = 1
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
TARGET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # same as wire.topics.valid_id


def to_wire_time(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_wire_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError("malformed", f"{name}: expected a time string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError("malformed", f"{name}: bad time {value!r}") from None
    if dt.tzinfo is None:
        raise ProtocolError("malformed", f"{name}: time without timezone")
    return dt.astimezone(UTC)


def require(d: Any, key: str, kind: type | tuple[type, ...], name: str) -> Any:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", f"{name}: expected an object")
    if key not in d:
        raise ProtocolError("malformed", f"{name}: missing {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError("malformed", f"{name}.{key}: wrong type")
    return value


def optional(d: dict[str, Any], key: str, kind: type | tuple[type, ...], name: str) -> Any:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError("malformed", f"{name}.{key}: wrong type")
    return value


def check_header(d: Any, expected_type: str) -> None:
    if not isinstance(d, dict):
        raise ProtocolError("malformed", "payload is not an object")
    if d.get("v") != SCHEMA:
        raise ProtocolError("unsupported-version", f"schema {d.get('v')!r}")
    if d.get("type") != expected_type:
        raise ProtocolError("wrong-type", f"expected {expected_type}, got {d.get('type')!r}")


def id_list(d: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = d.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("malformed", f"{name}.{key}: expected a list of ids")
    return tuple(value)
