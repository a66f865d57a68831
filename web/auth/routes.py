from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from broadcaster.accounts import authenticate
from web.auth.forms import LoginForm, LogoutForm
from web.security import WebUser
from web.services import db

bp = Blueprint("auth", __name__, template_folder="templates")

logger = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str | None:
    """Only local paths: never send a user to another site after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(db(), form.username.data.strip(), form.password.data)
        if user is None:
            logger.info("failed login for %r", form.username.data)
            flash(_("Wrong username or password."), "error")
        else:
            login_user(WebUser(user))
            logger.info("%s logged in", user.username)
            return redirect(_safe_next(form.next.data) or url_for("index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
