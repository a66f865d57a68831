"""Canonical JSON: the exact bytes that get signed.

Keys sorted, no insignificant whitespace, UTF-8 (not ASCII-escaped), no NaN.

>>> canonical_json({"b": 1, "a": "Thôn 1"})
b'{"a":"Th\\xc3\\xb4n 1","b":1}'
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` deterministically for signing."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
