from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.models import ANNOUNCEMENT_STATES, Announcement, Zone
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES, ROLES
from schedules import lifecycle, workflow
from schedules.checks import check_announcement
from schedules.planner import slot_specs
from schedules.slots import next_slot_start
from web import errors
from web.announcements import editing, programme
from web.announcements.forms import (
    AnnouncementForm,
    ApproveForm,
    CancelAiringForm,
    DuplicateForm,
    EditForm,
    SubmitForm,
    WithdrawForm,
)
from web.forms import RejectForm
from web.i18n import default_airing, from_local, local_now, to_local
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, now, services

bp = Blueprint("announcements", __name__, url_prefix="/announcements", template_folder="templates")

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_QUERY = 200
# The default airing: the next programme slot starting at least this far ahead.
SLOT_LEAD = timedelta(minutes=5)


def _get(ann_id: int) -> Announcement:
    return get_or_404(Announcement, ann_id)


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    """The list: by status, searched in titles and texts, a page of ``PAGE_SIZE`` at a time."""
    status = request.args.get("status", "")
    if status not in ANNOUNCEMENT_STATES:
        status = ""
    q = request.args.get("q", "").strip()[:MAX_QUERY]
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    where = [scope().announcements()]
    if status:
        where.append(Announcement.status == status)
    if q:
        where.append(
            or_(
                Announcement.title.icontains(q, autoescape=True),
                Announcement.body.icontains(q, autoescape=True),
            )
        )
    session = db()
    total = session.scalar(select(func.count()).select_from(Announcement).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page_no = min(page_no, pages)
    items = session.scalars(
        select(Announcement)
        .options(selectinload(Announcement.schedule), selectinload(Announcement.author))
        .where(*where)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .offset((page_no - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return render_template(
        "announcements/list.html",
        items=items,
        status=status,
        states=ANNOUNCEMENT_STATES,
        q=q,
        page=page_no,
        pages=pages,
        total=total,
    )


def default_start() -> datetime:
    """The form's default airing (naive local): the next programme slot's start at least
    ``SLOT_LEAD`` ahead; with no slot, ``SLOT_LEAD`` ahead, to the minute."""
    tz = services().settings.timezone
    found = next_slot_start(slot_specs(db()), now() + SLOT_LEAD, tz)
    if found is None:
        return default_airing(local_now() + SLOT_LEAD - timedelta(minutes=1))
    return to_local(found).replace(tzinfo=None)


def _zone_choices() -> list[SelectChoice]:
    zones = db().scalars(select(Zone).where(scope().zones()).order_by(Zone.name))
    return [SelectChoice(z.id, z.name) for z in zones]


def _form_page(template: str, form: AnnouncementForm, **context: object) -> ResponseReturnValue:
    """The new or the edit page: the form, the server's clock for the quick-time buttons
    (quicktime.js) and the longest text read out."""
    return render_template(
        template,
        form=form,
        server_now=local_now().strftime("%Y-%m-%dT%H:%M:%S"),
        max_chars=services().settings.max_text_chars,
        **context,
    )


def _new_page(form: AnnouncementForm, findings: list | None = None) -> ResponseReturnValue:
    return _form_page("announcements/new.html", form, findings=findings)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def new() -> ResponseReturnValue:
    form = AnnouncementForm()
    form.zones.choices = _zone_choices()
    programme.fill_choices(form, db(), scope())
    if request.method == "GET":
        form.start_at.data = default_start()
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
    flash(_("Draft saved. Submit it for approval when it is ready."), "success")
    if clashes:
        flash(programme.clash_warning(len(clashes)), "error")
    return redirect(url_for("announcements.detail", ann_id=ann.id))


@bp.route("/<int:ann_id>")
@roles_required(*ROLES)
def detail(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    approve_form = ApproveForm()
    if ann.schedule:
        item = ann.schedule[0]
        approve_form.start_at.data = to_local(item.start_at).replace(tzinfo=None)
        if not item.rrule and item.start_at <= now() + workflow.MIN_LEAD:
            approve_form.start_at.data = default_start()  # its time has passed: the next slot
    return _render_detail(ann, approve_form=approve_form)


def _render_detail(
    ann: Announcement,
    *,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    cancel_form: CancelAiringForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = current_user
    session = db()
    airings = lifecycle.upcoming(ann, now()) if ann.status != "cancelled" else []
    cancel_form = cancel_form or CancelAiringForm()
    editing.cancel_choices(cancel_form, airings)
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
            can_edit=lifecycle.may_edit(session, ann, user.model),
            can_duplicate=user.role in EDIT_ROLES,
            can_cancel=lifecycle.may_cancel(session, ann, user.model),
            airings=airings,
            airing_label=editing.airing_label,
            recurrence=programme.describe_rrule(ann.schedule[0].rrule) if ann.schedule else "",
            duplicate_form=DuplicateForm(),
            withdraw_form=withdraw_form or WithdrawForm(),
            cancel_form=cancel_form,
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


# --- the life of an announcement: edit, duplicate, withdraw, cancel airings ---------------------


def _edit_page(ann: Announcement, form: EditForm) -> ResponseReturnValue:
    return _form_page("announcements/edit.html", form, ann=ann)


@bp.route("/<int:ann_id>/edit", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def edit(ann_id: int) -> ResponseReturnValue:
    """Edit a draft or a rejected announcement; an approved one goes back for approval."""
    ann = _get(ann_id)
    session = db()
    if not lifecycle.may_edit(session, ann, current_user.model):
        flash(_("This announcement cannot be edited now."), "error")
        return redirect(url_for("announcements.detail", ann_id=ann_id))
    form = EditForm()
    form.kept_start = editing.kept_start(ann)
    form.zones.choices = _zone_choices()
    programme.fill_choices(form, session, scope())
    if request.method == "GET":
        editing.fill(form, ann)
    if not form.validate_on_submit():
        return _edit_page(ann, form)
    try:
        change = editing.change(form)
    except programme.ProgrammeError as exc:
        flash(str(exc), "error")
        return _edit_page(ann, form)
    was = ann.status
    errors.on_refusal(page=lambda: _edit_page(_get(ann_id), form))
    lifecycle.edit(
        session,
        ann,
        current_user.model,
        change,
        services().renderer,
        now=now(),
        max_chars=services().settings.max_text_chars,
    )
    session.commit()
    if was in ("submitted", "approved"):
        flash(_("Saved. The new audio is made; it waits for approval again."), "success")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("announcements.detail", ann_id=ann_id))


@bp.route("/<int:ann_id>/duplicate", methods=["POST"])
@roles_required(*EDIT_ROLES)
def duplicate(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    if not DuplicateForm().validate_on_submit():
        abort(400)
    errors.on_refusal(back=url_for("announcements.detail", ann_id=ann_id))
    session = db()
    first = ann.schedule[0].start_at
    start = first if first > now() + workflow.MIN_LEAD else from_local(default_start())
    copy = lifecycle.duplicate(session, ann, current_user.model, start_at=start, now=now())
    session.commit()
    flash(_("A copy was made as a draft: check it, then submit it."), "success")
    return redirect(url_for("announcements.edit", ann_id=copy.id))


@bp.route("/<int:ann_id>/withdraw", methods=["POST"])
@roles_required(*EDIT_ROLES, *APPROVE_ROLES)
def withdraw(ann_id: int) -> ResponseReturnValue:
    ann = _get(ann_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _render_detail(ann, withdraw_form=form, status=400)
    errors.on_refusal(page=lambda: _render_detail(_get(ann_id), withdraw_form=form))
    session = db()
    lifecycle.withdraw(session, ann, current_user.model, form.reason.data, now=now())
    session.commit()
    flash(_("Withdrawn. The speaker sites drop it within a minute."), "success")
    return redirect(url_for("announcements.detail", ann_id=ann_id))


@bp.route("/<int:ann_id>/cancel", methods=["POST"])
@roles_required(*EDIT_ROLES, *APPROVE_ROLES)
def cancel(ann_id: int) -> ResponseReturnValue:
    """Cancel one airing, or it and every later one."""
    ann = _get(ann_id)
    form = CancelAiringForm()
    airings = lifecycle.upcoming(ann, now())
    editing.cancel_choices(form, airings)
    if not form.validate_on_submit():
        return _render_detail(ann, cancel_form=form, status=400)
    picked = editing.parse_airing(form.airing.data)
    if picked is None:
        abort(400)
    errors.on_refusal(page=lambda: _render_detail(_get(ann_id), cancel_form=form))
    session = db()
    cancel_one = form.scope.data != "rest"
    do = lifecycle.cancel_airing if cancel_one else lifecycle.cancel_rest
    do(session, ann, current_user.model, picked[0], picked[1], form.reason.data, now=now())
    session.commit()
    if cancel_one:
        flash(_("The airing is cancelled. The speaker sites drop it within a minute."), "success")
    else:
        flash(
            _("The rest of the series is cancelled. The speaker sites drop it within a minute."),
            "success",
        )
    return redirect(url_for("announcements.detail", ann_id=ann_id))
