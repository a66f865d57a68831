"""Campaign pages: the list with this week's progress, create/edit, and one campaign's weeks."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.models import Campaign, Zone
from broadcaster.roles import EDIT_ROLES, ROLES
from schedules import campaigns
from schedules.calendar import monday_of
from web import errors
from web.campaigns.forms import CampaignForm
from web.campaigns.labels import category_label
from web.i18n import local_now
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, services

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns", template_folder="templates")

logger = logging.getLogger(__name__)


def _get(campaign_id: int) -> Campaign:
    return get_or_404(Campaign, campaign_id)


def _week() -> date:
    raw = request.args.get("week", "")
    try:
        return monday_of(date.fromisoformat(raw) if raw else local_now().date())
    except ValueError:
        abort(400)


@bp.route("/")
@roles_required(*ROLES)
def index() -> ResponseReturnValue:
    monday = monday_of(local_now().date())
    found = (
        db()
        .scalars(
            select(Campaign)
            .where(scope().campaigns())
            .options(selectinload(Campaign.zones), selectinload(Campaign.announcements))
            .order_by(Campaign.ends_on.desc(), Campaign.name)
        )
        .all()
    )
    tz = services().settings.timezone
    rows = [(c, campaigns.week_progress(db(), c, monday, tz=tz)) for c in found]
    return render_template(
        "campaigns/index.html", rows=rows, monday=monday, category_label=category_label
    )


def _form(campaign: Campaign | None = None) -> CampaignForm:
    form = CampaignForm(obj=campaign) if campaign is not None else CampaignForm()
    form.zones.choices = [
        SelectChoice(z.id, z.name)
        for z in db().scalars(select(Zone).where(scope().zones()).order_by(Zone.name))
    ]
    if campaign is not None and request.method == "GET":
        form.zones.data = [z.id for z in campaign.zones]
    return form


def _fields(form: CampaignForm) -> campaigns.CampaignFields:
    return campaigns.CampaignFields(
        name=form.name.data,
        category=form.category.data,
        description=form.description.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        target_per_week=form.target_per_week.data,
        zone_ids=form.zones.data or [],
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def new() -> ResponseReturnValue:
    form = _form()
    if request.method == "GET":
        today = local_now().date()
        form.starts_on.data = today
        form.ends_on.data = date(today.year, 12, 31)
    if form.validate_on_submit():
        errors.on_refusal(
            page=lambda: render_template("campaigns/form.html", form=form, campaign=None)
        )
        campaign = campaigns.create_campaign(db(), _fields(form), by=current_user.model)
        db().commit()
        flash(_("Campaign saved."), "success")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def edit(campaign_id: int) -> ResponseReturnValue:
    campaign = _get(campaign_id)
    form = _form(campaign)
    if form.validate_on_submit():
        errors.on_refusal(
            page=lambda: render_template(
                "campaigns/form.html", form=form, campaign=_get(campaign_id)
            )
        )
        campaigns.update_campaign(db(), campaign, _fields(form), by=current_user.model)
        db().commit()
        flash(_("Campaign saved."), "success")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=campaign)


@bp.route("/<int:campaign_id>")
@roles_required(*ROLES)
def detail(campaign_id: int) -> ResponseReturnValue:
    campaign = _get(campaign_id)
    monday = _week()
    progress = campaigns.week_progress(db(), campaign, monday, tz=services().settings.timezone)
    return render_template(
        "campaigns/detail.html",
        campaign=campaign,
        progress=progress,
        monday=monday,
        timedelta=timedelta,
        category_label=category_label,
    )
