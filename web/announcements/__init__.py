"""Write, submit, approve and reject announcements (through ``schedules.workflow``)."""

from flask import Blueprint

bp = Blueprint("announcements", __name__, url_prefix="/announcements", template_folder="templates")

from web.announcements import routes  # noqa: E402, F401  (registers the views)
