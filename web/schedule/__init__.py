"""What is going to air: upcoming approved airings."""

from flask import Blueprint

bp = Blueprint("schedule", __name__, url_prefix="/schedule", template_folder="templates")

from web.schedule import routes  # noqa: E402, F401  (registers the views)
