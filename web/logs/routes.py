"""The playback log (filters, sort, paging, permalink, CSV/XLSX) and proof of broadcast."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from broadcaster.models import (
    COMMUNE_KINDS,
    PLAYBACK_STATES,
    Announcement,
    Campaign,
    Site,
    Unit,
    Zone,
)
from broadcaster.queries import proof as proofs
from broadcaster.queries.logs import PER_PAGE_CHOICES, LogFilter, LogRow, iter_rows, page
from broadcaster.roles import ROLES
from broadcaster.wire.plan import PRIORITIES
from web.campaigns.labels import category_label
from web.exports.tables import csv_chunks, xlsx_bytes
from web.i18n import PLAYBACK_STATUS, PRIORITY, label, local_now, to_local
from web.logs.labels import OUTCOME_COLOUR, detail_text, outcome_text
from web.scope import scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint(
    "logs",
    __name__,
    url_prefix="/logs",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

logger = logging.getLogger(__name__)
bp.add_app_template_global(detail_text, "detail_text")

REFRESH_SECONDS = 10
CSV_LIMIT = 500_000
XLSX_LIMIT = 100_000


def _tz() -> str:
    return services().settings.timezone


def _choices() -> dict[str, Any]:
    session, sc = db(), scope()
    cats = set(session.scalars(select(Announcement.category).where(sc.announcements()).distinct()))
    cats |= set(session.scalars(select(Campaign.category).where(sc.campaigns()).distinct()))
    communes = select(Unit.name).where(sc.units(), Unit.kind.in_(COMMUNE_KINDS)).distinct()
    return {
        "communes": sorted(c for c in session.scalars(communes) if c),
        "zones": session.execute(
            select(Zone.id, Zone.name).where(sc.zones()).order_by(Zone.name)
        ).all(),
        "sites": session.execute(
            select(Site.id, Site.name).where(sc.sites()).order_by(Site.name)
        ).all(),
        "announcements": session.execute(
            select(Announcement.id, Announcement.title)
            .where(sc.announcements())
            .order_by(Announcement.id.desc())
            .limit(300)
        ).all(),
        "campaigns": session.execute(
            select(Campaign.id, Campaign.name).where(sc.campaigns()).order_by(Campaign.name)
        ).all(),
        "categories": sorted(c for c in cats if c),
        "priorities": PRIORITIES,
        "statuses": PLAYBACK_STATES,
        "per_page_choices": PER_PAGE_CHOICES,
    }


def _filter() -> LogFilter:
    """The request's view, ending now unless it asks for upcoming airings too (newest aired
    first, as the page and its exports show it)."""
    return replace(LogFilter.from_args(request.args), until=now())


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    f = _filter()
    args = f.to_args()
    if any(v == "" for v in request.args.values()):
        # A submitted filter form sends every field: show the short canonical URL instead.
        return redirect(url_for("logs.index", **args))  # type: ignore[arg-type]
    result = page(db(), f, _tz(), scope())

    def link(**changes: Any) -> str:
        q = f.to_args(**changes)
        return url_for("logs.index") + ("?" + urlencode(q) if q else "")

    def sort_link(key: str) -> str:
        desc = not f.desc if f.sort == key else key == "scheduled"
        return link(sort=key, desc=desc, page=1)

    return render_template(
        "logs/index.html",
        f=f,
        result=result,
        rows=result.rows,
        refresh=REFRESH_SECONDS if not args else None,
        permalink=request.host_url.rstrip("/") + link(),
        active_filters=_active_filters(args),
        link=link,
        sort_link=sort_link,
        export_query=urlencode(f.to_args(page=1, after=None, before=None)),
        category_label=category_label,
        **_choices(),
    )


NOT_FILTERS = ("sort", "dir", "page", "after", "before", "per_page")


def _active_filters(args: dict[str, str]) -> int:
    """How many filters the view has (the collapsed filter button says so)."""
    return sum(1 for k in args if k not in NOT_FILTERS)


def _local(dt: datetime | None) -> datetime | None:
    return to_local(dt).replace(tzinfo=None) if dt else None


HEADER = (
    "Mã lượt / Item",
    "Điểm phát / Site",
    "Mã điểm / Site id",
    "Thông báo / Announcement",
    "Mã thông báo / Id",
    "Chiến dịch / Campaign",
    "Lĩnh vực / Category",
    "Mức ưu tiên / Priority",
    "Giờ theo lịch / Scheduled",
    "Bắt đầu / Started",
    "Kết thúc / Finished",
    "Thời lượng (giây) / Aired (s)",
    "Trạng thái / Status",
    "Ghi chú / Detail",
)


UNVERIFIED = "chưa xác minh / unverified"  # the exports are bilingual, like their header


def _cells(r: LogRow) -> Sequence[Any]:
    return (
        r.item_id,
        r.site_name,
        r.site_id,
        r.title,
        r.announcement_id,
        r.campaign,
        category_label(r.category) if r.category else "",
        label(PRIORITY, r.priority),
        _local(r.scheduled_at),
        _local(r.started_at),
        _local(r.finished_at),
        round(r.aired_s) if r.aired_s is not None else None,
        label(PLAYBACK_STATUS, r.status)
        if r.verified
        else f"{label(PLAYBACK_STATUS, r.status)} ({UNVERIFIED})",
        detail_text(r.detail),
    )


def _filename(ext: str) -> str:
    return f"nhat-ky-phat-{local_now().strftime('%Y%m%d-%H%M')}.{ext}"


@bp.route("/export.csv")
@roles_required(*ROLES)
def export_csv() -> ResponseReturnValue:
    f = _filter()
    sc = scope()
    session = services().sessions()
    tz = _tz()

    def generate() -> Iterator[str]:
        try:
            rows = iter_rows(session, f, tz, CSV_LIMIT, sc)
            yield from csv_chunks(HEADER, (_cells(r) for r in rows))
        finally:
            session.close()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={_filename('csv')}"},
    )


@bp.route("/export.xlsx")
@roles_required(*ROLES)
def export_xlsx() -> ResponseReturnValue:
    f = _filter()
    rows = (_cells(r) for r in iter_rows(db(), f, _tz(), XLSX_LIMIT, scope()))
    data = xlsx_bytes([(_("Playback log"), HEADER, rows)])
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={_filename('xlsx')}"},
    )


def _proof(ann_id: int) -> proofs.Proof:
    try:
        return proofs.proof_of_broadcast(db(), ann_id, now(), scope())
    except proofs.NotFound:
        abort(404)


@bp.route("/proof/<int:ann_id>")
@roles_required(*ROLES)
def proof(ann_id: int) -> ResponseReturnValue:
    p = _proof(ann_id)
    return render_template(
        "logs/proof.html",
        p=p,
        outcome_text=outcome_text,
        colour=OUTCOME_COLOUR,
        category_label=category_label,
    )


@bp.route("/proof/<int:ann_id>.pdf")
@roles_required(*ROLES)
def proof_pdf(ann_id: int) -> ResponseReturnValue:
    from web.exports.pdf import PdfFontMissing
    from web.logs.proof_pdf import proof_pdf as render_pdf

    p = _proof(ann_id)
    try:
        data = render_pdf(p, prepared_by=current_user.display_name)
    except PdfFontMissing as exc:
        logger.error("%s", exc)
        return Response(no_font_message(), status=503, mimetype="text/plain")
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=xac-nhan-phat-{ann_id}.pdf",
        },
    )


def no_font_message() -> str:
    return _("PDF export needs the DejaVu Sans font (Debian package fonts-dejavu-core).")
