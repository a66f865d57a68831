"""Emergency pages: compose → confirm (listen) → send; then live per-site progress."""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, flash, jsonify, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.commands import CommandError
from broadcaster.models import Announcement, Emergency, Media, Zone
from broadcaster.mqtt import PublishError
from broadcaster.roles import APPROVE_ROLES, ROLES
from schedules import emergency as service
from web import errors
from web.emergency.forms import ComposeForm, ConfirmForm, StopForm
from web.i18n import format_local
from web.limits import parse_id
from web.logs.labels import detail_text
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint(
    "emergency",
    __name__,
    url_prefix="/emergency",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

logger = logging.getLogger(__name__)

STAGE_LABELS = {
    "waiting": _l("No answer yet"),
    "delivered": _l("Command received"),
    "playing": _l("Playing now"),
    "finished": _l("Played to the end"),
    "failed": _l("Could not play"),
    service.SILENT: _l("No confirmation: command sent again"),
    "stopped": _l("Stopped"),
}
RECENT = 20
SOURCES = 100


def _zones() -> list[Zone]:
    return list(db().scalars(select(Zone).where(scope().zones()).order_by(Zone.name)))


def _sources() -> list[SelectChoice]:
    rows = db().scalars(
        select(Announcement)
        .where(Announcement.status == "approved", Announcement.media_sha256.is_not(None))
        .where(scope().announcements())
        .order_by(Announcement.decided_at.desc(), Announcement.id.desc())
        .limit(SOURCES)
    )
    return [SelectChoice("", _("Type a new message (read out by the computer voice)"))] + [
        SelectChoice(str(a.id), a.title) for a in rows
    ]


def _compose_form() -> ComposeForm:
    form = ComposeForm()
    form.zones.choices = [SelectChoice(z.id, z.name) for z in _zones()]
    form.source.choices = _sources()
    return form


def _recent() -> list[Emergency]:
    return list(
        db().scalars(
            select(Emergency)
            .where(scope().emergencies())
            .options(selectinload(Emergency.announcement), selectinload(Emergency.sent_by))
            .order_by(Emergency.sent_at.desc())
            .limit(RECENT)
        )
    )


PREVIEW_KEY = "emergency_preview"


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def _remember_preview(draft: service.Draft, media: Media) -> None:
    """Keep, in the signed login session, which audio the approver heard for this text."""
    session[PREVIEW_KEY] = {"text": _text_digest(draft.text), "media": media.sha256}


def _previewed_media(draft: service.Draft) -> Media | None:
    """The audio rendered at step 1 for exactly this text, else None (the service renders the
    text again). Never from the form: what airs is the approved announcement's audio or the
    rendering of the text that the log records."""
    preview = session.pop(PREVIEW_KEY, None)
    if draft.source_id is not None or not isinstance(preview, dict):
        return None
    if preview.get("text") != _text_digest(draft.text):
        return None
    return db().get(Media, str(preview.get("media", "")))


def _draft(zones: list[str], source: str, title: str, text: str, reason: str) -> service.Draft:
    return service.Draft(
        zone_ids=tuple(zones),
        reason=reason,
        title=title,
        text=text,
        source_id=parse_id(source),
    )


@bp.route("/", methods=["GET", "POST"])
@roles_required(*APPROVE_ROLES)
def compose() -> ResponseReturnValue:
    """Step 1: zones, message and reason; the typed message is rendered for listening."""
    form = _compose_form()
    if not form.validate_on_submit():
        return render_template("emergency/compose.html", form=form, recent=_recent())
    dbs = db()
    draft = _draft(
        form.zones.data, form.source.data, form.title.data, form.text.data, form.reason.data
    )
    errors.on_refusal(
        page=lambda: render_template("emergency/compose.html", form=form, recent=_recent())
    )
    service.check_draft(
        dbs, current_user.model, draft, max_chars=services().settings.max_text_chars
    )
    media: Media | None
    if draft.source_id is None:
        media = service.render_message(dbs, draft.text, services().renderer)
    else:
        media = service.source_announcement(dbs, draft.source_id, scope()).media
    assert media is not None
    dbs.commit()
    _remember_preview(draft, media)
    confirm = ConfirmForm(
        formdata=None,
        zones=",".join(draft.zone_ids),
        source=str(draft.source_id or ""),
        title=draft.title,
        text=draft.text,
        reason=draft.reason,
    )
    zones = [z for z in _zones() if z.id in draft.zone_ids]
    sites = sorted({s.name for z in zones for s in z.sites})
    offline = [s.name for s in service.offline_sites(dbs, draft.zone_ids)]
    source = scope().get(dbs, Announcement, draft.source_id) if draft.source_id else None
    return render_template(
        "emergency/confirm.html",
        form=confirm,
        draft=draft,
        zones=zones,
        sites=sites,
        offline=offline,
        source=source,
        media=media,
        media_url=url_for("media.get", name=f"{media.sha256}.{media.ext}"),
    )


@bp.route("/send", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def send() -> ResponseReturnValue:
    """Step 2: record the emergency and send the play-now command to every zone."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("A reason is required for an emergency broadcast."), "error")
        return redirect(url_for("emergency.compose"))
    dbs = db()
    draft = _draft(
        form.zones.data.split(","),
        form.source.data or "",
        form.title.data or "",
        form.text.data or "",
        form.reason.data,
    )
    media = _previewed_media(draft)
    errors.on_refusal(back=url_for("emergency.compose"))
    em = service.send_emergency(
        dbs,
        current_user.model,
        draft,
        media=media,
        render=services().renderer,
        now=now(),
        max_chars=services().settings.max_text_chars,
    )
    dbs.commit()  # recorded first: even if the broker is away, the plan carries it
    try:
        service.publish_emergency(dbs, em, services().commands(), services().settings.public_url)
    except (PublishError, CommandError, OSError) as exc:
        dbs.rollback()
        logger.error("emergency %d: the command was not sent: %s", em.id, exc)
        flash(
            _(
                "Recorded, but the command could not be sent now (%(error)s). The sites get it "
                "with their next plan.",
                error=str(exc),
            ),
            "error",
        )
    else:
        dbs.commit()
        flash(_("Sent. The sites' progress is shown below."), "success")
    return redirect(url_for("emergency.status_page", emergency_id=em.id))


def _get(emergency_id: int) -> Emergency:
    return get_or_404(Emergency, emergency_id)


def _detail(p: service.SiteProgress) -> str:
    """What the page says beside the stage: a silent site's sends, else the event's detail."""
    if p.stage == service.SILENT:
        return _("Sent %(n)d times; the site has not answered.", n=p.sends)
    return detail_text(p.detail)


def _status_page(
    em: Emergency, stop_form: StopForm | None = None, status: int = 200
) -> ResponseReturnValue:
    progress = service.site_progress(db(), em)
    return (
        render_template(
            "emergency/status.html",
            em=em,
            progress=progress,
            done=service.done(progress),
            labels=STAGE_LABELS,
            detail=_detail,
            silent=service.SILENT,
            can_stop=em.stopped_at is None and current_user.role in APPROVE_ROLES,
            stop_form=stop_form or StopForm(),
        ),
        status,
    )


@bp.route("/<int:emergency_id>")
@roles_required(*ROLES)
def status_page(emergency_id: int) -> ResponseReturnValue:
    return _status_page(_get(emergency_id))


@bp.route("/<int:emergency_id>/stop", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def stop(emergency_id: int) -> ResponseReturnValue:
    """Stop the emergency at every site: a signed stop command; the page then shows each
    site's state."""
    em = _get(emergency_id)
    form = StopForm()
    if not form.validate_on_submit():
        return _status_page(em, form, 400)
    back = url_for("emergency.status_page", emergency_id=emergency_id)
    errors.on_refusal(page=lambda: _status_page(_get(emergency_id), form))
    dbs = db()
    try:
        service.stop_emergency(
            dbs, em, current_user.model, form.reason.data, services().commands(), now=now()
        )
    except (PublishError, CommandError, OSError) as exc:
        dbs.rollback()
        logger.error("emergency %d: the stop command was not sent: %s", emergency_id, exc)
        flash(
            _("The stop command could not be sent (%(error)s). Try again.", error=str(exc)),
            "error",
        )
        return redirect(back)
    dbs.commit()
    flash(_("Stop command sent. Each site's state is shown below."), "success")
    return redirect(back)


@bp.route("/<int:emergency_id>/status.json")
@roles_required(*ROLES)
def status_json(emergency_id: int) -> ResponseReturnValue:
    em = _get(emergency_id)
    progress = service.site_progress(db(), em)
    return jsonify(
        id=em.id,
        command_id=em.command_id,
        item_id=service.occurrence_id(em),
        sent_at=em.sent_at.isoformat(),
        stopped=em.stopped_at is not None,
        done=service.done(progress),
        sites=[
            {
                "site": p.site_id,
                "name": p.name,
                "stage": p.stage,
                "label": str(STAGE_LABELS[p.stage]),
                "detail": _detail(p),
                "silent": p.stage == service.SILENT,
                "sends": p.sends,
                "at": p.at.isoformat() if p.at else None,
                "at_local": format_local(p.at, "%H:%M:%S") if p.at else "",
                "online": p.online,
            }
            for p in progress
        ],
    )
