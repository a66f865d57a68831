from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from broadcaster.accounts import AccountError, authenticate, change_password
from web.auth import sessions, throttle
from web.auth.forms import LoginForm, LogoutForm, PasswordForm
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
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    username = form.username.data.strip()
    address = request.remote_addr or ""
    wait = throttle.retry_after(username, address)
    if wait is not None:  # the password is not even checked
        logger.warning("login for %r from %s refused: too many failures", username, address)
        flash(_("Too many failed logins. Try again in %(minutes)s minutes.", minutes=wait), "error")
        page = render_template("auth/login.html", form=form)
        return page, 429, {"Retry-After": str(wait * 60)}
    user = authenticate(db(), username, form.password.data)
    if user is None:
        throttle.record_failure(username, address)
        db().commit()
        logger.info("failed login for %r from %s", username, address)
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form)
    throttle.forget(username)
    sessions.start(user)
    db().commit()
    login_user(WebUser(user))
    logger.info("%s logged in", user.username)
    return redirect(_safe_next(form.next.data) or url_for("index"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit():
        sessions.end()
        db().commit()
        logout_user()
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    """Change one's own password; every other session of the user ends."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form)
    user = current_user.model
    try:
        change_password(db(), user, form.current.data, form.new.data)
    except AccountError:
        db().rollback()
        form.current.errors = [_("This is not your current password.")]
        return render_template("auth/password.html", form=form), 422
    sessions.start(user)  # this browser stays logged in, under a new token
    db().commit()
    login_user(WebUser(user))
    logger.info("%s changed their password; their other sessions ended", user.username)
    flash(_("Password changed. You are logged out everywhere else."), "success")
    return redirect(url_for("index"))
