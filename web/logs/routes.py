from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from broadcaster.models import Announcement, Playback, Site
from web.i18n import from_local
from web.logs import bp
from web.logs.forms import LogFilterForm
from web.security import roles_required
from web.services import db

LIMIT = 500
REFRESH_SECONDS = 10


@bp.route("/")
@roles_required("editor", "approver", "officer", "admin")
def index() -> ResponseReturnValue:
    form = LogFilterForm(request.args)
    when = func.coalesce(Playback.scheduled_at, Playback.started_at, Playback.updated_at)
    query = (
        select(Playback, Announcement.title, Site.name)
        .outerjoin(Announcement, Announcement.id == Playback.announcement_id)
        .outerjoin(Site, Site.id == Playback.site_id)
        .order_by(when.desc(), Playback.id.desc())
        .limit(LIMIT)
    )
    day = form.date.data if form.validate() else None
    if day is not None:
        start = from_local(datetime(day.year, day.month, day.day))
        query = query.where(when >= start, when < start + timedelta(days=1))
    rows = [
        {"pb": pb, "title": title, "site": site_name or pb.site_id}
        for pb, title, site_name in db().execute(query)
    ]
    return render_template(
        "logs/index.html", rows=rows, form=form, refresh=REFRESH_SECONDS, limit=LIMIT
    )
