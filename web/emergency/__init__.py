"""Emergency broadcast: compose, confirm, send at once to zones, and follow each site live."""

from flask import Blueprint

bp = Blueprint(
    "emergency",
    __name__,
    url_prefix="/emergency",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from web.emergency import routes  # noqa: E402, F401  (registers the views)
