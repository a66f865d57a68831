"""Content-addressed audio over HTTP for browsers and agents: ``GET /media/<sha256>.<ext>``."""

from flask import Blueprint

bp = Blueprint("media", __name__, url_prefix="/media")

from web.media import routes  # noqa: E402, F401  (registers the views)
