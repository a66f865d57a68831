"""The report page (filters, figures, SVG charts) and its XLSX/PDF exports."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from broadcaster.models import COMMUNE_KINDS, Announcement, Campaign, Unit
from broadcaster.queries.reports import Report
from broadcaster.roles import ROLES
from web.exports.pdf import PdfFontMissing
from web.reports.charts import bars
from web.reports.current import current_report
from web.reports.exports import report_pdf, report_xlsx
from web.scope import scope
from web.security import roles_required
from web.services import db

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

logger = logging.getLogger(__name__)


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


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    r = current_report()
    charts = {
        dim: Markup(  # noqa: S704 - charts.bars escapes every label
            bars([(x.label, x.broadcasts) for x in lines[:12]], _("Broadcasts"))
        )
        for dim, lines in r.by.items()
        if lines
    }
    zones = r.by.get("zone") or []
    minutes = [(x.label, round(x.minutes, 1)) for x in zones[:12]]
    minutes_chart = Markup(bars(minutes, _("Minutes aired"))) if minutes else None  # noqa: S704
    return render_template(
        "reports/index.html",
        r=r,
        charts=charts,
        minutes_chart=minutes_chart,
        query=urlencode(r.filter.to_args()),
        **_choices(),
    )


def _download(data: bytes, mimetype: str, r: Report, ext: str) -> Response:
    name = f"bao-cao-{r.filter.start:%Y%m%d}-{r.filter.end:%Y%m%d}.{ext}"
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"}
    )


@bp.route("/report.xlsx")
@roles_required(*ROLES)
def export_xlsx() -> ResponseReturnValue:
    r = current_report()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(report_xlsx(r), mime, r, "xlsx")


@bp.route("/report.pdf")
@roles_required(*ROLES)
def export_pdf() -> ResponseReturnValue:
    r = current_report()
    try:
        data = report_pdf(r)
    except PdfFontMissing as exc:
        logger.error("%s", exc)
        return Response(
            _("PDF export needs the DejaVu Sans font (Debian package fonts-dejavu-core)."),
            status=503,
            mimetype="text/plain",
        )
    return _download(data, "application/pdf", r, "pdf")
