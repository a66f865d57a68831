from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, send_file
from flask.typing import ResponseReturnValue

from web.services import services

bp = Blueprint("media", __name__, url_prefix="/media")

NAME_RE = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})$")
MIMETYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "ogg": "audio/ogg", "wav": "audio/wav"}
ONE_YEAR = 31536000


@bp.route("/<name>")
def get(name: str) -> ResponseReturnValue:
    """No login: agents fetch these, and a hash names the bytes, so they never change."""
    m = NAME_RE.match(name)
    if m is None:
        abort(404)
    sha, ext = m["sha"], m["ext"]
    try:
        path = Path(services().media.path(sha, ext))
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=MIMETYPES.get(ext, "application/octet-stream"),
        etag=sha,
        conditional=True,
        max_age=ONE_YEAR,
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
