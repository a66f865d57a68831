"""Bulletins down the tree: write and approve at the sending unit, follow each commune; the
commune's inbox (accept into the programme, decline with a reason, order a priority one)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.commands import CommandError
from broadcaster.models import Bulletin, BulletinDelivery, Slot
from broadcaster.mqtt import PublishError
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES, ROLES
from broadcaster.units import subtree_ids
from schedules import bulletins as service
from schedules.bulletin_status import commune_status, scheduled_for, waiting
from schedules.bulletin_status import inbox as inbox_items
from web import errors
from web.bulletins.forms import (
    CLASS_LABELS,
    AcceptForm,
    ApproveForm,
    DeclineForm,
    OrderForm,
    WriteForm,
)
from web.forms import RejectForm
from web.i18n import from_local
from web.limits import parse_id
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins", template_folder="templates")

logger = logging.getLogger(__name__)

LIST_LIMIT = 200
STATUS = {"submitted": _l("Awaiting approval"), "approved": _l("Sent"), "rejected": _l("Rejected")}
DELIVERY = {
    "pending": _l("Not sent yet"),
    "inbox": _l("In the inbox"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "placed": _l("Placed in the next slot"),
    "sent": _l("Aired at once"),
}


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {
        "bulletin_status": STATUS,
        "delivery_state": DELIVERY,
        "class_labels": CLASS_LABELS,
        "bulletin_inbox_count": _inbox_count,
    }


def _inbox_count() -> int:
    """Bulletins waiting for this commune staff member's decision (the navigation's badge)."""
    if not current_user.is_authenticated:
        return 0
    return waiting(db(), current_user.model, scope())


# --- The sending unit ------------------------------------------------------------------------


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    rows = db().scalars(
        select(Bulletin)
        .where(scope().bulletins())
        .options(selectinload(Bulletin.deliveries), selectinload(Bulletin.author))
        .order_by(Bulletin.created_at.desc(), Bulletin.id.desc())
        .limit(LIST_LIMIT)
    )
    return render_template("bulletins/list.html", items=list(rows))


def _write_page(form: WriteForm) -> ResponseReturnValue:
    return render_template(
        "bulletins/new.html", form=form, max_chars=services().settings.max_text_chars
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def new() -> ResponseReturnValue:
    form = WriteForm()
    form.communes.choices = [
        SelectChoice(u.id, u.name) for u in service.target_communes(db(), current_user.model)
    ]
    if not form.validate_on_submit():
        return _write_page(form)
    errors.on_refusal(page=lambda: _write_page(form))
    session = db()
    bulletin = service.write_bulletin(
        session,
        current_user.model,
        title=form.title.data,
        body=form.body.data,
        priority=form.priority.data,
        commune_ids=form.communes.data,
        render=services().renderer,
        now=now(),
        max_chars=services().settings.max_text_chars,
    )
    session.commit()
    flash(_("Written. Another approver of your unit must approve it."), "success")
    return redirect(url_for("bulletins.detail", bulletin_id=bulletin.id))


def _detail_page(
    bulletin: Bulletin, reject_form: RejectForm | None = None, status: int = 200
) -> ResponseReturnValue:
    user = current_user
    can_decide = (
        bulletin.status == "submitted"
        and user.role in APPROVE_ROLES
        and user.id != bulletin.author_id
        and user.model.unit_id == bulletin.unit_id
    )
    media = bulletin.media
    return (
        render_template(
            "bulletins/detail.html",
            b=bulletin,
            rows=commune_status(db(), bulletin, services().settings.timezone),
            can_decide=can_decide,
            media_url=url_for("media.get", name=f"{media.sha256}.{media.ext}"),
            approve_form=ApproveForm(),
            reject_form=reject_form or RejectForm(),
        ),
        status,
    )


@bp.route("/<int:bulletin_id>")
@roles_required(*ROLES)
def detail(bulletin_id: int) -> ResponseReturnValue:
    return _detail_page(get_or_404(Bulletin, bulletin_id))


@bp.route("/<int:bulletin_id>/approve", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def approve(bulletin_id: int) -> ResponseReturnValue:
    bulletin = get_or_404(Bulletin, bulletin_id)
    if not ApproveForm().validate_on_submit():
        abort(400)
    back = url_for("bulletins.detail", bulletin_id=bulletin_id)
    errors.on_refusal(back=back)
    session = db()
    service.approve_bulletin(
        session, bulletin, current_user.model, now=now(), tz=services().settings.timezone
    )
    session.commit()  # recorded first: an emergency's plan carries it if the broker is away
    if bulletin.emergency is not None:
        try:
            service.publish(
                session, bulletin, services().commands(), services().settings.public_url
            )
        except (PublishError, CommandError, OSError) as exc:
            session.rollback()
            logger.error("bulletin %d: the command was not sent: %s", bulletin_id, exc)
            flash(
                _(
                    "Recorded, but the command could not be sent now (%(error)s). The sites "
                    "get it with their next plan.",
                    error=str(exc),
                ),
                "error",
            )
            return redirect(back)
        session.commit()
    flash(_("Approved and sent to the communes."), "success")
    return redirect(back)


@bp.route("/<int:bulletin_id>/reject", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def reject(bulletin_id: int) -> ResponseReturnValue:
    bulletin = get_or_404(Bulletin, bulletin_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail_page(bulletin, reject_form=form, status=400)
    errors.on_refusal(back=url_for("bulletins.detail", bulletin_id=bulletin_id))
    session = db()
    service.reject_bulletin(session, bulletin, current_user.model, form.reason.data, now=now())
    session.commit()
    flash(_("Rejected. The author can write it again."), "success")
    return redirect(url_for("bulletins.detail", bulletin_id=bulletin_id))


# --- The commune's inbox ---------------------------------------------------------------------


@bp.route("/inbox")
@roles_required(*ROLES)
def inbox() -> ResponseReturnValue:
    items = inbox_items(db(), scope(), LIST_LIMIT)
    return render_template("bulletins/inbox.html", items=items)


def _slot_choices() -> list[SelectChoice]:
    slots = db().scalars(select(Slot).order_by(Slot.start, Slot.id))
    return [SelectChoice("", _("At the time below"))] + [
        SelectChoice(str(s.id), f"{s.name} ({s.start:%H:%M}–{s.end:%H:%M})") for s in slots
    ]


def _item_page(
    d: BulletinDelivery,
    accept_form: AcceptForm | None = None,
    decline_form: DeclineForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    accept_form = accept_form or AcceptForm()
    accept_form.slot.choices = _slot_choices()
    user = current_user
    mine = user.role in service.ACCEPT_ROLES and user.model.unit_id in subtree_ids(db(), d.unit_id)
    ann = d.announcement
    tz = services().settings.timezone
    when = scheduled_for(ann.schedule[0], tz) if ann is not None and ann.schedule else None
    media = d.bulletin.media
    return (
        render_template(
            "bulletins/item.html",
            d=d,
            b=d.bulletin,
            mine=mine,
            when=when,
            media_url=url_for("media.get", name=f"{media.sha256}.{media.ext}"),
            accept_form=accept_form,
            decline_form=decline_form or DeclineForm(),
            order_form=OrderForm(),
            ahead=ann is not None and ann.precedence == service.AHEAD,
        ),
        status,
    )


@bp.route("/inbox/<int:delivery_id>")
@roles_required(*ROLES)
def item(delivery_id: int) -> ResponseReturnValue:
    return _item_page(get_or_404(BulletinDelivery, delivery_id))


@bp.route("/inbox/<int:delivery_id>/accept", methods=["POST"])
@roles_required(*service.ACCEPT_ROLES)
def accept(delivery_id: int) -> ResponseReturnValue:
    d = get_or_404(BulletinDelivery, delivery_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        return _item_page(d, accept_form=form, status=400)
    errors.on_refusal(page=lambda: _item_page(get_or_404(BulletinDelivery, delivery_id), form))
    session = db()
    slot_id = parse_id(form.slot.data or "")
    start_at = from_local(form.start_at.data) if form.start_at.data and slot_id is None else None
    service.accept(session, d, current_user.model, now=now(), slot_id=slot_id, start_at=start_at)
    session.commit()
    flash(_("Accepted into your programme."), "success")
    return redirect(url_for("bulletins.item", delivery_id=delivery_id))


@bp.route("/inbox/<int:delivery_id>/decline", methods=["POST"])
@roles_required(*service.ACCEPT_ROLES)
def decline(delivery_id: int) -> ResponseReturnValue:
    d = get_or_404(BulletinDelivery, delivery_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _item_page(d, decline_form=form, status=400)
    errors.on_refusal(back=url_for("bulletins.item", delivery_id=delivery_id))
    session = db()
    service.decline(session, d, current_user.model, form.reason.data, now=now())
    session.commit()
    flash(_("Declined. The sender sees your reason."), "success")
    return redirect(url_for("bulletins.item", delivery_id=delivery_id))


@bp.route("/inbox/<int:delivery_id>/order", methods=["POST"])
@roles_required(*service.ACCEPT_ROLES)
def order(delivery_id: int) -> ResponseReturnValue:
    d = get_or_404(BulletinDelivery, delivery_id)
    form = OrderForm()
    if not form.validate_on_submit():
        abort(400)
    errors.on_refusal(back=url_for("bulletins.item", delivery_id=delivery_id))
    session = db()
    service.set_order(session, d, current_user.model, ahead=not form.behind.data, now=now())
    session.commit()
    flash(_("The order is saved."), "success")
    return redirect(url_for("bulletins.item", delivery_id=delivery_id))
