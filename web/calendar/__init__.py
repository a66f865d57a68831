"""Week calendars per zone and per speaker site, and the zones' iCalendar export."""

from flask import Blueprint

bp = Blueprint(
    "calendar",
    __name__,
    url_prefix="/calendar",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from web.calendar import routes  # noqa: E402, F401  (registers the views)
