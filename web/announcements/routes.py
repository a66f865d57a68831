from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.models import ANNOUNCEMENT_STATES, Announcement, Zone
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES, ROLES
from schedules import workflow
from schedules.checks import check_announcement
from web import errors
from web.announcements import programme
from web.announcements.forms import AnnouncementForm, ApproveForm, RejectForm, SubmitForm
from web.i18n import default_airing, from_local, local_now, to_local
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("announcements", __name__, url_prefix="/announcements", template_folder="templates")

logger = logging.getLogger(__name__)

LIST_LIMIT = 200


def _get(ann_id: int) -> Announcement:
    return get_or_404(Announcement, ann_id)


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "")
    if status not in ANNOUNCEMENT_STATES:
        status = ""
    query = (
        select(Announcement)
        .options(selectinload(Announcement.schedule), selectinload(Announcement.author))
        .where(scope().announcements())
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(LIST_LIMIT)
    )
    if status:
        query = query.where(Announcement.status == status)
    items = db().scalars(query).all()
    return render_template(
        "announcements/list.html", items=items, status=status, states=ANNOUNCEMENT_STATES
    )


def _zone_choices() -> list[SelectChoice]:
    zones = db().scalars(select(Zone).where(scope().zones()).order_by(Zone.name))
    return [SelectChoice(z.id, z.name) for z in zones]


def _new_page(form: AnnouncementForm, findings: list | None = None) -> ResponseReturnValue:
    return render_template(
        "announcements/new.html",
        form=form,
        findings=findings,
        server_now=local_now().strftime("%Y-%m-%dT%H:%M:%S"),
        max_chars=services().settings.max_text_chars,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def new() -> ResponseReturnValue:
    form = AnnouncementForm()
    form.zones.choices = _zone_choices()
    programme.fill_choices(form, db(), scope())
    if request.method == "GET":
        form.start_at.data = default_airing()
    if not form.validate_on_submit():
        return _new_page(form)
    try:
        extra = programme.programme_values(form)
    except programme.ProgrammeError as exc:
        flash(str(exc), "error")
        return _new_page(form)
    errors.on_refusal(page=lambda: _new_page(form))
    session = db()
    values = dict(
        title=form.title.data,
        body=form.body.data,
        zone_ids=form.zones.data,
        priority=form.priority.data,
        repeat=int(form.repeat.data) if form.repeat.raw_data else None,
        max_chars=services().settings.max_text_chars,
        **extra,
    )
    if form.check.data:  # "Kiểm tra": show the clashes, save nothing
        return _new_page(form, programme.check_only(session, current_user.model, values))
    ann = workflow.create_announcement(session, current_user.model, **values, now=now())
    clashes = programme.describe(session, check_announcement(session, ann, now=now()))
    session.commit()
    flash(_("Draft saved. Listen to it after submitting it for approval."), "success")
    if clashes:
        flash(programme.clash_warning(len(clashes)), "error")
    return redirect(url_for("announcements.detail", ann_id=ann.id))


@bp.route("/<int:ann_id>")
@roles_required(*ROLES)
def detail(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    approve_form = ApproveForm()
    if ann.schedule:
        approve_form.start_at.data = to_local(ann.schedule[0].start_at).replace(tzinfo=None)
    return _render_detail(ann, approve_form=approve_form)


def _render_detail(
    ann: Announcement,
    *,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = current_user
    can_submit = ann.status in ("draft", "rejected") and (
        user.id == ann.author_id or user.role == "admin"
    )
    can_decide = (
        ann.status == "submitted" and user.role in APPROVE_ROLES and user.id != ann.author_id
    )
    media_url = None
    if ann.media is not None:
        media_url = url_for("media.get", name=f"{ann.media.sha256}.{ann.media.ext}")
    sites = sorted({s.name for z in ann.zones for s in z.sites})
    return (
        render_template(
            "announcements/detail.html",
            ann=ann,
            sites=sites,
            media_url=media_url,
            can_submit=can_submit,
            can_decide=can_decide,
            submit_form=SubmitForm(),
            approve_form=approve_form or ApproveForm(),
            reject_form=reject_form or RejectForm(),
        ),
        status,
    )


@bp.route("/<int:ann_id>/submit", methods=["POST"])
@roles_required(*EDIT_ROLES)
def submit(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("announcements.detail", ann_id=ann_id)
    errors.on_refusal(back=back)
    session = db()
    workflow.submit(session, ann, current_user.model, services().renderer, now=now())
    session.commit()
    flash(_("Submitted for approval. The audio is ready to listen to."), "success")
    return redirect(back)


@bp.route("/<int:ann_id>/approve", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def approve(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        return _render_detail(ann, approve_form=form, status=400)
    errors.on_refusal(page=lambda: _render_detail(_get(ann_id), approve_form=form))
    session = db()
    workflow.approve(
        session,
        ann,
        current_user.model,
        start_at=from_local(form.start_at.data),
        now=now(),
    )
    session.commit()
    flash(_("Approved. It will be sent to the speaker sites."), "success")
    return redirect(url_for("announcements.detail", ann_id=ann_id))


@bp.route("/<int:ann_id>/reject", methods=["POST"])
@roles_required(*APPROVE_ROLES)
def reject(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_detail(ann, reject_form=form, status=400)
    errors.on_refusal(page=lambda: _render_detail(_get(ann_id), reject_form=form))
    session = db()
    workflow.reject(session, ann, current_user.model, form.reason.data, now=now())
    session.commit()
    flash(_("Rejected. The author can correct it and submit it again."), "success")
    return redirect(url_for("announcements.detail", ann_id=ann_id))
