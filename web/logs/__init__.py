"""The playback log: what each speaker site played, when, and how it went."""

from flask import Blueprint

bp = Blueprint(
    "logs",
    __name__,
    url_prefix="/logs",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from web.logs import routes  # noqa: E402, F401  (registers the views)
