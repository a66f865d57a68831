"""The officers' JSON API (logs, proof of broadcast, site health, reports) and its OpenAPI 3
document, for district and provincial systems to pull the figures."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api", template_folder="templates")

from web.api import routes  # noqa: E402, F401  (registers the views)
