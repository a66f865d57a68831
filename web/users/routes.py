"""User administration (issue 13): an administrator lists, creates, changes, disables and
resets the passwords of the users of their unit and below. Everything through the one scope: an
administrator sees no user, and offers no unit, outside their subtree."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster import accounts
from broadcaster.models import Unit, User
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db
from web.users.forms import EditUserForm, NewUserForm, ResetPasswordForm

bp = Blueprint("users", __name__, url_prefix="/users", template_folder="templates")

logger = logging.getLogger(__name__)

ADMIN = "admin"


def _refusal(exc: accounts.AccountError) -> str:
    """The administrator's words for a refusal from ``broadcaster.accounts``."""
    words = {
        "username-taken": _("That username is taken."),
        "bad-username": _("Lowercase letters, digits, “.”, “_” or “-” (at most 64)."),
        "short-password": _("The password is too short."),
        "self": _("You cannot change your own role, unit or access: ask another administrator."),
    }
    return words.get(exc.code, _("Not saved: %(why)s", why=str(exc)))


def _units() -> list[SelectChoice]:
    rows = db().scalars(
        select(Unit).where(scope().units(), Unit.merged_into_id.is_(None)).order_by(Unit.code)
    )
    return [SelectChoice(str(u.id), f"{u.name} ({u.code})") for u in rows]


def _unit(raw: str | None) -> Unit:
    return get_or_404(Unit, int(raw or 0))


@bp.route("/")
@roles_required(ADMIN)
def index() -> ResponseReturnValue:
    users = (
        db()
        .scalars(
            select(User)
            .where(scope().users())
            .options(selectinload(User.unit))
            .order_by(User.active.desc(), User.username)
        )
        .all()
    )
    return render_template("users/index.html", users=users)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def new() -> ResponseReturnValue:
    form = NewUserForm()
    form.unit.choices = _units()
    if form.validate_on_submit():
        session = db()
        try:
            user = accounts.create_user(
                session,
                form.username.data or "",
                form.password.data or "",
                form.role.data or "",
                form.display_name.data or "",
                _unit(form.unit.data),
            )
            accounts.set_contact(session, user, form.email.data or "", form.phone.data or "")
        except accounts.AccountError as exc:
            session.rollback()
            form.username.errors = [*form.username.errors, _refusal(exc)]
        else:
            session.commit()
            logger.info(
                "user %s (%s) created by %s", user.username, user.role, current_user.username
            )
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("users.index"))
    return render_template("users/new.html", form=form)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit(user_id: int) -> ResponseReturnValue:
    user = get_or_404(User, user_id)
    form = EditUserForm(obj=user)
    form.unit.choices = _units()
    if not form.is_submitted():
        form.unit.data = str(user.unit_id)
    reset = ResetPasswordForm(formdata=None)
    if form.validate_on_submit():
        session = db()
        try:
            accounts.update_user(
                session,
                current_user.model,
                user,
                display_name=form.display_name.data or "",
                role=form.role.data or "",
                unit=_unit(form.unit.data),
                active=bool(form.active.data),
            )
            accounts.set_contact(session, user, form.email.data or "", form.phone.data or "")
        except accounts.AccountError as exc:
            session.rollback()
            flash(_refusal(exc), "error")
            return render_template("users/edit.html", user=user, form=form, reset=reset), 409
        session.commit()
        logger.info("user %s changed by %s", user.username, current_user.username)
        flash(_("Saved."), "success")
        return redirect(url_for("users.index"))
    return render_template("users/edit.html", user=user, form=form, reset=reset)


@bp.route("/<int:user_id>/password", methods=["POST"])
@roles_required(ADMIN)
def password(user_id: int) -> ResponseReturnValue:
    user = get_or_404(User, user_id)
    reset = ResetPasswordForm()
    if reset.validate_on_submit():
        session = db()
        accounts.set_password(session, user, reset.password.data or "")
        session.commit()
        logger.info("password of %s reset by %s", user.username, current_user.username)
        flash(
            _("The password of %(name)s is set; their sessions have ended.", name=user.username),
            "success",
        )
        return redirect(url_for("users.edit", user_id=user.id))
    form = EditUserForm(obj=user, formdata=None)
    form.unit.choices = _units()
    form.unit.data = str(user.unit_id)
    return render_template("users/edit.html", user=user, form=form, reset=reset), 400
