"""Site health: every speaker site's state, plan, playbacks and alerts, and a map."""

from flask import Blueprint

bp = Blueprint("health", __name__, url_prefix="/health", template_folder="templates")

from web.health import routes  # noqa: E402, F401  (registers the views)
