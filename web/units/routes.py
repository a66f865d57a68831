"""Merging communes from the web (issue 11): an administrator whose unit holds every commune
involved picks them, sees what moves, and confirms. The same merge as
``broadcaster units merge A B --into C`` (``broadcaster.merge``), recorded with who and when."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from broadcaster.merge import merge_units, plan_merge
from broadcaster.models import COMMUNE_KINDS, Unit
from broadcaster.units import UnitError
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now
from web.units.forms import MergeForm

bp = Blueprint("units", __name__, url_prefix="/units", template_folder="templates")

logger = logging.getLogger(__name__)


def _form() -> MergeForm:
    """The merge form, its choices the communes in this administrator's units not yet merged."""
    communes = db().scalars(
        select(Unit)
        .where(scope().units(), Unit.kind.in_(COMMUNE_KINDS), Unit.merged_into_id.is_(None))
        .order_by(Unit.name)
    )
    form = MergeForm()
    form.set_choices([(u.id, f"{u.name} ({u.code})") for u in communes])
    return form


def _units(form: MergeForm) -> tuple[list[Unit], Unit]:
    """The chosen units, each looked up in scope (404 outside it, like a missing one)."""
    sources = [get_or_404(Unit, unit_id) for unit_id in form.sources.data or []]
    return sources, get_or_404(Unit, form.into.data)


@bp.route("/merge", methods=["GET", "POST"])
@roles_required("admin")
def merge() -> ResponseReturnValue:
    """Step 1: choose; posting shows what would move (nothing changes yet)."""
    form = _form()
    if request.method == "POST" and form.validate_on_submit():
        sources, into = _units(form)
        try:
            plan = plan_merge(db(), sources, into, now())
        except UnitError as exc:
            form.into.errors = [_("These communes cannot be merged: %(reason)s", reason=exc)]
        else:
            return render_template("units/confirm.html", form=form, plan=plan)
    status = 400 if request.method == "POST" else 200
    return render_template("units/merge.html", form=form), status


@bp.route("/merge/confirm", methods=["POST"])
@roles_required("admin")
def merge_confirm() -> ResponseReturnValue:
    """Step 2: the administrator confirmed what the first step showed."""
    form = _form()
    if not form.validate_on_submit():
        return render_template("units/merge.html", form=form), 400
    sources, into = _units(form)
    session = db()
    try:
        merged = merge_units(session, sources, into, now(), by=current_user.username)
    except UnitError as exc:
        session.rollback()
        form.into.errors = [_("These communes cannot be merged: %(reason)s", reason=exc)]
        return render_template("units/merge.html", form=form), 400
    session.commit()
    logger.info("web: %s merged %s into %s", current_user.username, merged.sources, merged.into)
    flash(
        _(
            "Merged %(sources)s into %(into)s.",
            sources=", ".join(u.name for u in sources),
            into=into.name,
        ),
        "success",
    )
    return redirect(url_for("units.merge"))
