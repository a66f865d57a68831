"""The server's signing keys in the web (issue 13): an administrator of the top unit sees the
keys (active, still trusted, next, retired), the list agents trust and who changed what, and
rotates, retires or publishes again after a confirm step. The same operations as
``broadcaster keys rotate|retire|publish`` (``broadcaster.keys``), noted with the user's name.

The key is the whole server's, so a commune's administrator gets 404, as for a row outside
their units.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false, func, or_, select
from wtforms import HiddenField, SubmitField
from wtforms.validators import DataRequired, Length

from broadcaster import keys
from broadcaster.keys import KeyRing, KeysPublishError
from broadcaster.models import Site
from web.forms import BaseForm
from web.scope import scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("keys", __name__, url_prefix="/keys", template_folder="templates")

logger = logging.getLogger(__name__)

BEHIND_SHOWN = 50  # sites on an older list, listed by name

STATES = {
    "active": _l("Signing now"),
    "trusted": _l("Still trusted"),
    "next": _l("Next (rotation not finished)"),
    "retired": _l("Retired"),
}
ACTIONS = {
    "rotate": _l("Rotated the key"),
    "retire": _l("Retired a key"),
    "publish": _l("Published the list again"),
}


class RotateForm(BaseForm):
    submit = SubmitField(_l("Rotate the key now"))


class RetireForm(BaseForm):
    kid = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Stop trusting this key"))


class PublishForm(BaseForm):
    submit = SubmitField(_l("Publish the list again"))


def _ring() -> KeyRing:
    """The server's key ring, for an administrator of the top unit (else 404)."""
    if not scope().everything:
        abort(404)
    return KeyRing(services().settings.signing_key_file)


def _publish_failed(exc: Exception) -> None:
    logger.error("keys: the broker did not take the keys message: %s", exc)
    flash(
        _(
            "The list could not be sent to the MQTT broker (%(why)s). Nothing was changed; "
            "try again when the broker is running.",
            why=str(exc),
        ),
        "error",
    )


def _when(entry: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(entry.get("at", "")))
    except ValueError:
        return None


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    def keys_admin() -> bool:
        return bool(
            current_user.is_authenticated and current_user.role == "admin" and scope().everything
        )

    return {"keys_admin": keys_admin}


def _sites_behind(version: int) -> tuple[int, int, list[Site]]:
    """(sites, sites behind ``version``, the first ``BEHIND_SHOWN`` of those): a site is
    behind until its heartbeat reports the list ``version`` or a later one."""
    session = db()
    # Before the first rotation (version 0) every site trusts what it was provisioned with.
    behind = or_(Site.keys_version.is_(None), Site.keys_version < version) if version else false()
    total = session.scalar(select(func.count()).select_from(Site)) or 0
    late = session.scalar(select(func.count()).select_from(Site).where(behind)) or 0
    rows = session.scalars(select(Site).where(behind).order_by(Site.id).limit(BEHIND_SHOWN)).all()
    return total, late, list(rows)


@bp.route("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    ring = _ring()
    version, _trusted = ring.trusted()
    states = ring.keys()
    total, late, behind = _sites_behind(version)
    return render_template(
        "keys/index.html",
        sites_total=total,
        sites_late=late,
        behind=behind,
        version=version,
        keys=states,
        old=[k for k in states if k.state == "trusted"],
        journal=[(e, _when(e)) for e in ring.journal()],
        states=STATES,
        actions=ACTIONS,
        publish_form=PublishForm(),
    )


@bp.route("/rotate", methods=["GET", "POST"])
@roles_required("admin")
def rotate() -> ResponseReturnValue:
    """GET: what a rotation does, and the confirm button; POST: rotate."""
    ring = _ring()
    form = RotateForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("keys/rotate.html", form=form, active=ring.active())
    try:
        rotation = keys.rotate(ring, now(), keys.broker_publisher(services().settings), by=_by())
    except KeysPublishError as exc:
        _publish_failed(exc)
        return redirect(url_for("keys.index"))
    flash(
        _(
            "The key was rotated: the server now signs with %(new)s, and the agents trust "
            "%(old)s too until you retire it.",
            new=rotation.new.kid,
            old=rotation.old.kid,
        ),
        "success",
    )
    return redirect(url_for("keys.index"))


def _retirable(ring: KeyRing, kid: str) -> bool:
    return any(k.kid == kid and k.state == "trusted" for k in ring.keys())


@bp.route("/retire", methods=["GET", "POST"])
@roles_required("admin")
def retire() -> ResponseReturnValue:
    """GET ?kid=: what retiring the key does, and the confirm button; POST: retire it."""
    ring = _ring()
    form = RetireForm()
    if request.method == "GET":
        form.kid.data = request.args.get("kid", "")[:64]
    kid = form.kid.data or ""
    if not _retirable(ring, kid):
        flash(_("Only a key that is trusted but no longer signs can be retired."), "error")
        return redirect(url_for("keys.index"))
    version, _trusted = ring.trusted()
    if request.method == "GET" or not form.validate_on_submit():
        total, late, _behind = _sites_behind(version)
        return render_template(
            "keys/retire.html",
            form=form,
            kid=kid,
            version=version,
            sites_total=total,
            sites_late=late,
        )
    try:
        keys.retire(ring, kid, now(), keys.broker_publisher(services().settings), by=_by())
    except KeysPublishError as exc:
        _publish_failed(exc)
        return redirect(url_for("keys.index"))
    except ValueError as exc:  # changed since the check (another administrator)
        logger.info("keys: retiring %s refused: %s", kid, exc)
        flash(_("Only a key that is trusted but no longer signs can be retired."), "error")
        return redirect(url_for("keys.index"))
    flash(_("Key %(kid)s is retired: agents no longer accept it.", kid=kid), "success")
    return redirect(url_for("keys.index"))


@bp.route("/publish", methods=["POST"])
@roles_required("admin")
def publish() -> ResponseReturnValue:
    """Publish the current list again (nothing changes in what agents trust)."""
    ring = _ring()
    if not PublishForm().validate_on_submit():
        abort(400)
    try:
        update = keys.republish(ring, now(), keys.broker_publisher(services().settings), by=_by())
    except KeysPublishError as exc:
        _publish_failed(exc)
    else:
        flash(_("The list (version %(v)s) was published again.", v=update.version), "success")
    return redirect(url_for("keys.index"))


def _by() -> str:
    return str(current_user.username)
