from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from broadcaster.models import Announcement, ScheduleItem, Zone
from broadcaster.roles import ROLES
from web.scope import scope
from web.security import roles_required
from web.services import db, now

bp = Blueprint("schedule", __name__, url_prefix="/schedule", template_folder="templates")

LIMIT = 500


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    query = (
        select(ScheduleItem)
        .join(ScheduleItem.announcement)
        .options(
            contains_eager(ScheduleItem.announcement)
            .selectinload(Announcement.zones)
            .selectinload(Zone.sites)
        )
        .where(Announcement.status == "approved", ScheduleItem.start_at >= now())
        .where(scope().announcements())
        .order_by(ScheduleItem.start_at, ScheduleItem.id)
        .limit(LIMIT)
    )
    rows = []
    for item in db().scalars(query).unique():
        ann = item.announcement
        rows.append(
            {
                "start_at": item.start_at,
                "ann": ann,
                "zones": [z.name for z in ann.zones],
                "sites": sorted({s.name for z in ann.zones for s in z.sites}),
            }
        )
    return render_template("schedule/index.html", rows=rows)
