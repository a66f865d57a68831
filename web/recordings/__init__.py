"""Recorded versions of announcements: upload or record in the browser, preview, remove.

Pages post forms; the browser recorder and other clients use the JSON API (/api/recordings).
"""

from flask import Blueprint

bp = Blueprint(
    "recordings",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/recordings/static",
)

from web.recordings import routes  # noqa: E402, F401  (registers the views)
