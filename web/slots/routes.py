"""Daily slots and relays in the web (issue 13): the programme's shared windows, edited by the
installation's administrators, and each commune's relays of a radio stream, edited by the
administrators of its units. Writes go through ``schedules.programme_edit``; the scheduler's
next tick publishes the new plans (plan-mark triggers)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from audio.tts.base import TTSError
from broadcaster.models import WEEKDAYS, Relay, Slot, Zone
from schedules import programme_edit
from schedules.programme_edit import ProgrammeEditError, RelayFields, SlotFields
from web.announcements.programme import DAY_LABELS
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, services
from web.slots.forms import DeleteForm, RelayForm, SlotForm

bp = Blueprint("slots", __name__, url_prefix="/slots", template_folder="templates")

logger = logging.getLogger(__name__)


def _refusal(exc: ProgrammeEditError) -> str:
    words = {
        "taken": _("That name is taken."),
        "order": _("The slot must end after it starts (on the same day)."),
        "days": _("Choose at least one day."),
        "name": _("This field is required."),
        "stream": _("Give the stream's address, starting with http:// or https://."),
        "minutes": _("Between 1 and %(max)d minutes.", max=programme_edit.MAX_RELAY_MINUTES),
        "zones": _("Choose at least one of your zones."),
        "in-use": _("Announcements air in this slot: move them to another slot first."),
        "shared": _(
            "Slots are shared by every commune: the province's administrators change them."
        ),
    }
    return words.get(exc.code, _("Not saved: %(why)s", why=str(exc)))


def days_label(days: tuple[str, ...]) -> str:
    """ "Every day", or the days' short names."""
    if tuple(days) == WEEKDAYS:
        return _("Every day")
    return ", ".join(str(DAY_LABELS[d]) for d in days)


def _end(start: object, seconds: int) -> str:
    at = datetime.combine(datetime(2000, 1, 1).date(), start) + timedelta(seconds=seconds)  # type: ignore[arg-type]
    return f"{at:%H:%M}"


@bp.route("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    slots = db().scalars(select(Slot).order_by(Slot.start, Slot.id)).all()
    relays = (
        db()
        .scalars(
            select(Relay)
            .where(scope().relays())
            .options(selectinload(Relay.zones).selectinload(Zone.unit))
            .order_by(Relay.start, Relay.name)
        )
        .all()
    )
    return render_template(
        "slots/index.html",
        slots=slots,
        relays=relays,
        shared=scope().everything,
        days_label=days_label,
        relay_end=_end,
    )


def _slot_or_404(slot_id: int) -> Slot:
    slot = db().get(Slot, slot_id)
    if slot is None:
        abort(404)
    return slot


def _may_change_slots() -> None:
    if not scope().everything:
        abort(403)  # slots are shared: shown to every administrator, changed by the province's


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:slot_id>", methods=["GET", "POST"])
@roles_required("admin")
def slot(slot_id: int | None = None) -> ResponseReturnValue:
    existing = _slot_or_404(slot_id) if slot_id is not None else None
    _may_change_slots()
    form = SlotForm(obj=existing)
    if existing is not None and not form.is_submitted():
        form.days.data = list(existing.weekdays)
    if form.validate_on_submit():
        session = db()
        try:
            saved = programme_edit.save_slot(
                session,
                scope(),
                SlotFields(
                    name=form.name.data or "",
                    start=form.start.data,  # type: ignore[arg-type]  # required
                    end=form.end.data,  # type: ignore[arg-type]
                    days=tuple(form.days.data or ()),
                ),
                existing,
            )
        except ProgrammeEditError as exc:
            session.rollback()
            form.name.errors = [*form.name.errors, _refusal(exc)]
        else:
            session.commit()
            logger.info("slot %d (%s) saved by %s", saved.id, saved.name, current_user.username)
            flash(_("Saved. The sites' plans follow within a minute."), "success")
            return redirect(url_for("slots.index"))
    uses = programme_edit.slot_uses(db(), existing) if existing is not None else 0
    return render_template(
        "slots/slot.html", form=form, slot=existing, uses=uses, delete=DeleteForm()
    )


@bp.route("/<int:slot_id>/delete", methods=["POST"])
@roles_required("admin")
def delete_slot(slot_id: int) -> ResponseReturnValue:
    existing = _slot_or_404(slot_id)
    _may_change_slots()
    if not DeleteForm().validate_on_submit():
        return redirect(url_for("slots.slot", slot_id=slot_id))
    session = db()
    try:
        programme_edit.delete_slot(session, scope(), existing)
    except ProgrammeEditError as exc:
        session.rollback()
        flash(_refusal(exc), "error")
        return redirect(url_for("slots.slot", slot_id=slot_id))
    session.commit()
    logger.info("slot %d deleted by %s", slot_id, current_user.username)
    flash(_("Deleted."), "success")
    return redirect(url_for("slots.index"))


def _relay_form(relay: Relay | None) -> RelayForm:
    form = RelayForm(obj=relay)
    zones = db().scalars(
        select(Zone).where(scope().zones()).options(selectinload(Zone.unit)).order_by(Zone.name)
    )
    form.zones.choices = [SelectChoice(z.id, f"{z.name} ({z.unit.name})") for z in zones]
    if relay is not None and not form.is_submitted():
        form.days.data = list(relay.weekdays)
        form.zones.data = [z.id for z in relay.zones]
        form.minutes.data = relay.duration_s // 60
    return form


@bp.route("/relays/new", methods=["GET", "POST"])
@bp.route("/relays/<int:relay_id>", methods=["GET", "POST"])
@roles_required("admin")
def relay(relay_id: int | None = None) -> ResponseReturnValue:
    existing = get_or_404(Relay, relay_id) if relay_id is not None else None
    form = _relay_form(existing)
    if form.validate_on_submit():
        session = db()
        try:
            saved = programme_edit.save_relay(
                session,
                scope(),
                RelayFields(
                    name=form.name.data or "",
                    stream_url=form.stream_url.data or "",
                    start=form.start.data,  # type: ignore[arg-type]  # required
                    minutes=form.minutes.data or 0,
                    zone_ids=tuple(form.zones.data or ()),
                    days=tuple(form.days.data or ()),
                    active=bool(form.active.data),
                ),
                services().renderer,
                existing,
            )
        except ProgrammeEditError as exc:
            session.rollback()
            field = {"stream": form.stream_url, "minutes": form.minutes, "zones": form.zones}
            target = field.get(exc.code, form.name)
            target.errors = [*target.errors, _refusal(exc)]
        except TTSError as exc:
            session.rollback()
            logger.error("relay fallback not rendered: %s", exc)
            flash(_("The relay's fallback message could not be made; try again."), "error")
        else:
            session.commit()
            logger.info("relay %d (%s) saved by %s", saved.id, saved.name, current_user.username)
            flash(_("Saved. The sites' plans follow within a minute."), "success")
            return redirect(url_for("slots.index"))
    return render_template("slots/relay.html", form=form, relay=existing, delete=DeleteForm())


@bp.route("/relays/<int:relay_id>/delete", methods=["POST"])
@roles_required("admin")
def delete_relay(relay_id: int) -> ResponseReturnValue:
    existing = get_or_404(Relay, relay_id)
    if not DeleteForm().validate_on_submit():
        return redirect(url_for("slots.relay", relay_id=relay_id))
    session = db()
    programme_edit.delete_relay(session, scope(), existing)
    session.commit()
    logger.info("relay %d deleted by %s", relay_id, current_user.username)
    flash(_("Deleted."), "success")
    return redirect(url_for("slots.index"))
