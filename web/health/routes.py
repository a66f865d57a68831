"""The site health page and its map (server-drawn SVG beside the list, no tiles needed)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from broadcaster.alerts import Thresholds, annotate
from broadcaster.queries.health import site_health
from broadcaster.roles import ROLES
from web.health.labels import ALERT, LEVEL, alert_detail
from web.health.svgmap import render
from web.scope import scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("health", __name__, url_prefix="/health", template_folder="templates")

REFRESH_SECONDS = 30


def _sites() -> tuple[list, list]:
    at = now()
    sites = site_health(db(), at, scope=scope())
    alerts = annotate(sites, Thresholds.from_settings(services().settings), at)
    return sites, alerts


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    sites, alerts = _sites()
    counts = {lvl: sum(1 for s in sites if s.level == lvl) for lvl in LEVEL}
    return render_template(
        "health/index.html",
        sites=sites,
        alerts=alerts,
        counts=counts,
        levels=LEVEL,
        alert_label=lambda k: str(ALERT.get(k, k)),
        alert_detail=alert_detail,
        refresh=REFRESH_SECONDS,
        thresholds=Thresholds.from_settings(services().settings),
    )


@bp.route("/map")
@roles_required(*ROLES)
def map_view() -> ResponseReturnValue:
    sites, _alerts = _sites()
    svg = Markup(render(sites, _("Map of speaker sites")))  # noqa: S704 - every value escaped
    unplaced = [s for s in sites if s.latitude is None or s.longitude is None]
    return render_template("health/map.html", sites=sites, svg=svg, unplaced=unplaced, levels=LEVEL)
