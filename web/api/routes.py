"""JSON endpoints; each is described in the OpenAPI document (web/api/openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from broadcaster.alerts import Thresholds, annotate
from broadcaster.queries import proof as proofs
from broadcaster.queries.health import site_health
from broadcaster.queries.logs import LogFilter, page
from web.api.auth import api_access
from web.api.openapi import document
from web.reports.current import current_report
from web.scope import scope
from web.services import db, now, services

bp = Blueprint("api", __name__, url_prefix="/api", template_folder="templates")


def _t(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _error(status: int, code: str, message: str) -> ResponseReturnValue:
    resp = jsonify(error=code, message=message)
    resp.status_code = status
    return resp


@bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document(request.host_url.rstrip("/")))


@bp.route("/docs")
def docs() -> ResponseReturnValue:
    return render_template("api/docs.html", spec=document(request.host_url.rstrip("/")))


@bp.route("/v1/logs")
@api_access
def logs() -> ResponseReturnValue:
    f = LogFilter.from_args(request.args)
    p = page(db(), f, services().settings.timezone, scope())
    return jsonify(
        filter=f.as_dict(),
        page=p.page,
        per_page=p.per_page,
        has_next=p.has_next,
        has_prev=p.has_prev,
        next_after=p.next_after,
        prev_before=p.prev_before,
        total=p.total,
        total_capped=p.total_capped,
        items=[
            {
                "id": r.id,
                "site_id": r.site_id,
                "site_name": r.site_name,
                "item_id": r.item_id,
                "announcement_id": r.announcement_id,
                "title": r.title,
                "category": r.category,
                "priority": r.priority,
                "campaign": r.campaign,
                "scheduled_at": _t(r.scheduled_at),
                "started_at": _t(r.started_at),
                "finished_at": _t(r.finished_at),
                "status": r.status,
                "detail": r.detail,
                "verified": r.verified,
            }
            for r in p.rows
        ],
    )


@bp.route("/v1/announcements/<int:ann_id>/proof")
@api_access
def proof(ann_id: int) -> ResponseReturnValue:
    try:
        p = proofs.proof_of_broadcast(db(), ann_id, now(), scope())
    except proofs.NotFound as exc:
        return _error(404, "not-found", str(exc))
    return jsonify(
        announcement_id=p.announcement_id,
        title=p.title,
        category=p.category,
        priority=p.priority,
        campaign=p.campaign,
        zones=p.zones,
        targeted_sites=p.targeted,
        coverage_pct=round(p.coverage, 1),
        reach_pct=round(p.reach, 1),
        generated_at=_t(p.generated_at),
        sites=[
            {
                "site_id": s.site_id,
                "site_name": s.site_name,
                "outcome": s.outcome,
                "reason": s.reason or None,
                "airings": [
                    {
                        "item_id": a.item_id,
                        "scheduled_at": _t(a.scheduled_at),
                        "started_at": _t(a.started_at),
                        "finished_at": _t(a.finished_at),
                        "status": a.status,
                        "detail": a.detail,
                    }
                    for a in s.airings
                ],
            }
            for s in p.sites
        ],
        unverified=[
            {
                "site_name": site_name,
                "item_id": a.item_id,
                "scheduled_at": _t(a.scheduled_at),
                "status": a.status,
                "detail": a.detail,
            }
            for site_name, a in p.unverified
        ],
    )


@bp.route("/v1/health")
@api_access
def health() -> ResponseReturnValue:
    at = now()
    sites = site_health(db(), at, scope=scope())
    alerts = annotate(sites, Thresholds.from_settings(services().settings), at)
    out: list[dict[str, Any]] = []
    for s in sites:
        out.append(
            {
                "site_id": s.site_id,
                "name": s.name,
                "level": s.level,
                "state": s.state,
                "last_seen_at": _t(s.last_seen_at or s.state_at),
                "reported_plan_version": s.reported_plan_version,
                "published_plan_version": s.published_plan_version,
                "last_playback_at": _t(s.last_playback_at),
                "failures_24h": s.failures_24h,
                "disk_free_bytes": s.disk_free_bytes,
                "cpu_temp_c": s.cpu_temp_c,
                "clock_offset_ms": s.clock_offset_ms,
                "latitude": s.latitude,
                "longitude": s.longitude,
                "alerts": s.alerts,
            }
        )
    return jsonify(
        generated_at=_t(at),
        sites=out,
        alerts=[{"site_id": a.site_id, "kind": a.kind, "detail": a.detail} for a in alerts],
    )


@bp.route("/v1/reports")
@api_access
def reports() -> ResponseReturnValue:
    return jsonify(current_report().as_dict())
