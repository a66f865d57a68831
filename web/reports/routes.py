"""The report page (filters, figures, SVG charts) and its XLSX/PDF exports."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from broadcaster.models import COMMUNE_KINDS, Announcement, Campaign, Unit, Zone
from broadcaster.queries.reports import Report, today_local
from broadcaster.roles import ROLES
from web.campaigns.labels import category_label
from web.exports.pdf import PdfFontMissing
from web.reports.charts import bars
from web.reports.current import current_report
from web.reports.exports import report_pdf, report_xlsx
from web.scope import scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

logger = logging.getLogger(__name__)

# The page updates in place (static/update-in-place.js) as the roll-ups catch up with the log.
REFRESH_SECONDS = 60


def _choices() -> dict[str, Any]:
    session, sc = db(), scope()
    cats = set(session.scalars(select(Announcement.category).where(sc.announcements()).distinct()))
    cats |= set(session.scalars(select(Campaign.category).where(sc.campaigns()).distinct()))
    communes = select(Unit.name).where(sc.units(), Unit.kind.in_(COMMUNE_KINDS)).distinct()
    return {
        "campaign_choices": session.execute(
            select(Campaign.id, Campaign.name).where(sc.campaigns()).order_by(Campaign.name)
        ).all(),
        "category_choices": sorted(c for c in cats if c),
        "commune_choices": sorted(c for c in session.scalars(communes) if c),
    }


def _periods(r: Report) -> list[tuple[str, str]]:
    """Quick periods: the report's year and the one before (annual reports), its month."""
    out = []
    base = {k: v for k, v in r.filter.to_args().items() if k not in ("start", "end")}
    for year in (r.filter.end.year, r.filter.end.year - 1):
        args = {**base, "start": f"{year}-01-01", "end": f"{year}-12-31"}
        out.append((_("Year %(year)s", year=year), urlencode(args)))
    first = r.filter.end.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    args = {**base, "start": first.isoformat(), "end": (nxt - timedelta(days=1)).isoformat()}
    out.append((_("Month %(month)s", month=f"{first:%m/%Y}"), urlencode(args)))
    return out


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    r = current_report()
    charts = {
        dim: Markup(  # noqa: S704 - charts.bars escapes every label
            bars(
                [
                    (category_label(x.key) if dim == "category" else x.label, x.broadcasts)
                    for x in lines[:12]
                ],
                _("Broadcasts"),
            )
        )
        for dim, lines in r.by.items()
        if lines
    }
    period = {k: v for k, v in r.filter.to_args().items() if k in ("start", "end")}

    def drill(**args: str) -> str:
        """The report's period over another unit (or zone)."""
        return urlencode({**period, **args})

    zone_name = _zone_name(r)
    zones = r.by.get("zone") or []
    minutes = [(x.label, round(x.minutes, 1)) for x in zones[:12]]
    minutes_chart = Markup(bars(minutes, _("Minutes aired"))) if minutes else None  # noqa: S704
    return render_template(
        "reports/index.html",
        r=r,
        charts=charts,
        minutes_chart=minutes_chart,
        query=urlencode(r.filter.to_args()),
        drill=drill,
        periods=_periods(r),
        category_label=category_label,
        zone_name=zone_name,
        refresh=REFRESH_SECONDS,
        active_filters=sum(
            1 for k in r.filter.to_args() if k in ("campaign", "category", "commune")
        ),
        **_choices(),
    )


def _today() -> date:
    return today_local(services().settings.timezone, now())


def _zone_name(r: Report) -> str:
    zone = scope().get(db(), Zone, r.filter.zone) if r.filter.zone else None
    return zone.name if zone else ""


def _download(data: bytes, mimetype: str, r: Report, ext: str) -> Response:
    unit = f"-{r.unit.code}" if r.unit else ""
    unit += f"-{r.filter.zone}" if r.filter.zone else ""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in unit)
    name = f"bao-cao{safe}-{r.filter.start:%Y%m%d}-{r.filter.end:%Y%m%d}.{ext}"
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"}
    )


@bp.route("/report.xlsx")
@roles_required(*ROLES)
def export_xlsx() -> ResponseReturnValue:
    r = current_report()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(report_xlsx(r, _today(), _zone_name(r)), mime, r, "xlsx")


@bp.route("/report.pdf")
@roles_required(*ROLES)
def export_pdf() -> ResponseReturnValue:
    r = current_report()
    try:
        data = report_pdf(r, _today(), _zone_name(r))
    except PdfFontMissing as exc:
        logger.error("%s", exc)
        return Response(
            _("PDF export needs the DejaVu Sans font (Debian package fonts-dejavu-core)."),
            status=503,
            mimetype="text/plain",
        )
    return _download(data, "application/pdf", r, "pdf")
