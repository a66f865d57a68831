"""API tokens in the web (issue 13): an administrator makes a token for a unit of theirs (shown
once), sees who made which and when it was last used, and revokes it."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from broadcaster import api_tokens
from broadcaster.models import ApiToken, Unit
from web.forms import REQUIRED, BaseForm
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now

bp = Blueprint("tokens", __name__, url_prefix="/tokens", template_folder="templates")

logger = logging.getLogger(__name__)


class TokenForm(BaseForm):
    name = StringField(
        _l("Who uses it (e.g. the province's reporting system)"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
    )
    unit = SelectField(_l("It reads this unit and below"), choices=[])
    submit = SubmitField(_l("Make a token"))


class RevokeForm(BaseForm):
    submit = SubmitField(_l("Revoke"))


def _form() -> TokenForm:
    form = TokenForm()
    units = db().scalars(
        select(Unit).where(scope().units(), Unit.merged_into_id.is_(None)).order_by(Unit.code)
    )
    form.unit.choices = [SelectChoice(str(u.id), f"{u.name} ({u.code})") for u in units]
    return form


def _page(form: TokenForm, status: int = 200) -> ResponseReturnValue:
    rows = (
        db()
        .scalars(
            select(ApiToken)
            .where(scope().api_tokens())
            .options(selectinload(ApiToken.unit), selectinload(ApiToken.created_by))
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
        )
        .all()
    )
    return render_template("tokens/index.html", form=form, rows=rows, revoke=RevokeForm()), status


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index() -> ResponseReturnValue:
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400 if form.is_submitted() else 200)
    session = db()
    unit = get_or_404(Unit, int(form.unit.data or 0))
    token, secret = api_tokens.issue(session, form.name.data or "", unit, current_user.model, now())
    session.commit()
    logger.info("API token %d (%s) made by %s", token.id, token.name, current_user.username)
    resp = make_response(render_template("tokens/made.html", token=token, secret=secret))
    resp.headers["Cache-Control"] = "no-store"  # the secret is shown once, never cached
    return resp


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke(token_id: int) -> ResponseReturnValue:
    token = get_or_404(ApiToken, token_id)
    if RevokeForm().validate_on_submit():
        api_tokens.revoke(db(), token, now())
        db().commit()
        logger.info("API token %d revoked by %s", token.id, current_user.username)
        flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
