"""The week calendar pages (server-rendered grid) and the per-zone ``.ics`` export."""

from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from broadcaster.models import Site, Zone
from broadcaster.roles import ROLES
from schedules.calendar import Week, monday_of, site_names, site_week, zone_week
from schedules.ical import zone_calendar
from web.i18n import PRIORITY, label, local_now
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint(
    "calendar",
    __name__,
    url_prefix="/calendar",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

logger = logging.getLogger(__name__)

WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)


def _week_arg() -> date:
    """The ``?week=YYYY-MM-DD`` argument (any day of the week), else today (local)."""
    raw = request.args.get("week", "")
    try:
        return date.fromisoformat(raw) if raw else local_now().date()
    except ValueError:
        abort(400)


def _tz() -> str:
    return services().settings.timezone


def _choices() -> dict[str, list]:
    session, sc = db(), scope()
    return {
        "zones": list(session.scalars(select(Zone).where(sc.zones()).order_by(Zone.name))),
        "sites": list(session.scalars(select(Site).where(sc.sites()).order_by(Site.name))),
    }


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    return render_template("calendar/index.html", **_choices())


def _render(week: Week, *, kind: str, target: Zone | Site) -> ResponseReturnValue:
    today = local_now().date()
    return render_template(
        "calendar/week.html",
        week=week,
        kind=kind,
        target=target,
        today=today,
        this_week=monday_of(today),
        weekday_names=WEEKDAY_NAMES,
        names=site_names(db(), week.sites),
        **_choices(),
    )


@bp.route("/zone/<zone_id>")
@roles_required(*ROLES)
def zone(zone_id: str) -> ResponseReturnValue:
    target = get_or_404(Zone, zone_id)
    return _render(zone_week(db(), zone_id, _week_arg(), tz=_tz()), kind="zone", target=target)


@bp.route("/site/<site_id>")
@roles_required(*ROLES)
def site(site_id: str) -> ResponseReturnValue:
    target = get_or_404(Site, site_id)
    return _render(site_week(db(), site_id, _week_arg(), tz=_tz()), kind="site", target=target)


@bp.route("/zone/<zone_id>.ics")
@roles_required(*ROLES)
def zone_ics(zone_id: str) -> ResponseReturnValue:
    target = get_or_404(Zone, zone_id)
    labels = {code: label(PRIORITY, code) for code in PRIORITY}
    labels["relay"] = _("Relay")
    data = zone_calendar(
        db(),
        target,
        public_url=services().settings.public_url,
        tz=_tz(),
        now=now(),
        labels=labels,
    )
    return Response(
        data,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{zone_id}.ics"'},
    )
