"""The "Hôm nay" dashboard (issue 13): the start page after login, for every role."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from broadcaster.roles import ROLES
from schedules.today import today
from web.scope import scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("today", __name__, url_prefix="/today", template_folder="templates")


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    figures = today(db(), scope(), current_user.model, now(), services().settings.timezone)
    return render_template("today/index.html", t=figures, now_utc=now())
