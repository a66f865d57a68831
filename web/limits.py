"""What a request may carry: ids that fit the database, and a body no larger than the upload limit.

Every ``<int:…>`` in a route is a :class:`IdConverter`: a number outside 1..2^63-1 (SQL BIGINT)
matches no route, so it is a 404, never an OverflowError from the database driver. Ids read from
forms and query strings go through :func:`parse_id`.

The body limit for a file upload (multipart) is one setting, ``recording_max_bytes`` (the
largest upload, stated on the upload form from the same value), plus room for the form around
the file: :func:`max_body_bytes`. Any other body (a form, JSON) may be at most
``FORM_MAX_BYTES``. Werkzeug refuses a larger body with 413 when it is read (the CSRF check reads
it first), shown as a translated page by ``web.errors``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

from broadcaster.config import Settings

MAX_ID = 2**63 - 1
FORM_OVERHEAD = 256 * 1024  # multipart boundaries and the fields around an uploaded file
FORM_MAX_BYTES = 1024 * 1024  # a body without a file: the longest text form is far smaller


class IdConverter(IntegerConverter):
    """``<int:…>``, limited to 1..2^63-1 (ids and counts; no route takes a negative number)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(value: object) -> int | None:
    """``value`` as a database id, or None when it is not a number in 1..2^63-1."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def max_body_bytes(settings: Settings) -> int:
    """The largest request body the app reads: one upload at its limit, plus the form."""
    return settings.recording_max_bytes + FORM_OVERHEAD


def _limit_body() -> None:
    if request.mimetype != "multipart/form-data":
        request.max_content_length = FORM_MAX_BYTES


def init_app(app: Flask, settings: Settings) -> None:
    """Call before any route is added (rules bind their converters when they are added) and
    before CSRF protection (its check reads the body: the limit must be set by then)."""
    app.url_map.converters["int"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes(settings)
    app.before_request(_limit_body)
