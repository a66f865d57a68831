"""Zones and speaker sites in the web (issue 13): an administrator adds and changes the zones
and sites of their communes (with coordinates, for the map), and makes a site's agent
credentials and downloads its bundle. Everything through the one scope."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from pathlib import Path

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.models import COMMUNE_KINDS, RECORDING_LANGUAGES, Site, Unit, Zone
from schedules import places
from web.places.forms import BundleForm, SiteForm, ZoneForm
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, services

bp = Blueprint("places", __name__, url_prefix="/places", template_folder="templates")

logger = logging.getLogger(__name__)

OUTPUT = {"amplifier": _l("Amplifier and wired speakers"), "fm-transmitter": _l("FM transmitter")}
LANGUAGE = {"vi": _l("Vietnamese")}  # the others by their own names (Bahnar, Sedang, …)


def _refusal(exc: places.PlaceError) -> str:
    words = {
        "taken": _("That code is taken."),
        "bad-id": _("Lowercase letters without accents, digits and “-” (e.g. thon-3)."),
        "zones": _("A site serves zones of its own commune."),
        "zone-has-sites": _("The zone has sites: move them to another zone first."),
        "coordinates": _("Give both coordinates, or neither."),
    }
    return words.get(exc.code, _("Not saved: %(why)s", why=str(exc)))


def _communes() -> list[SelectChoice]:
    rows = db().scalars(
        select(Unit)
        .where(scope().units(), Unit.kind.in_(COMMUNE_KINDS), Unit.merged_into_id.is_(None))
        .order_by(Unit.name)
    )
    return [SelectChoice(str(u.id), u.name) for u in rows]


@bp.route("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    zones = (
        db()
        .scalars(
            select(Zone).where(scope().zones()).options(selectinload(Zone.unit)).order_by(Zone.name)
        )
        .all()
    )
    sites = (
        db()
        .scalars(
            select(Site)
            .where(scope().sites())
            .options(selectinload(Site.zones), selectinload(Site.unit))
            .order_by(Site.name)
        )
        .all()
    )
    return render_template("places/index.html", zones=zones, sites=sites, output=OUTPUT)


def _zone_form(zone: Zone | None) -> ZoneForm:
    form = ZoneForm(obj=zone)
    form.unit.choices = _communes()
    form.language.choices = [
        SelectChoice(c, str(LANGUAGE.get(c, c.capitalize()))) for c in RECORDING_LANGUAGES
    ]
    if zone is not None:
        form.zone_id.data = zone.id
        if not form.is_submitted():
            form.unit.data = str(zone.unit_id)
    return form


@bp.route("/zones/new", methods=["GET", "POST"])
@bp.route("/zones/<zone_id>", methods=["GET", "POST"])
@roles_required("admin")
def zone(zone_id: str | None = None) -> ResponseReturnValue:
    existing = get_or_404(Zone, zone_id) if zone_id is not None else None
    form = _zone_form(existing)
    if form.validate_on_submit():
        session = db()
        try:
            saved = places.save_zone(
                session,
                scope(),
                zone_id=form.zone_id.data or "",
                name=form.name.data or "",
                language=form.language.data or "vi",
                unit_id=int(form.unit.data or 0),
                existing=existing,
            )
        except places.PlaceError as exc:
            session.rollback()
            form.zone_id.errors = [*form.zone_id.errors, _refusal(exc)]
        else:
            session.commit()
            logger.info("zone %s saved by %s", saved.id, current_user.username)
            flash(_("Saved."), "success")
            return redirect(url_for("places.index"))
    return render_template("places/zone.html", form=form, zone=existing)


def _site_form(site: Site | None) -> SiteForm:
    form = SiteForm(obj=site)
    form.unit.choices = _communes()
    zones = db().scalars(
        select(Zone).where(scope().zones()).options(selectinload(Zone.unit)).order_by(Zone.name)
    )
    form.zones.choices = [SelectChoice(z.id, f"{z.name} ({z.unit.name})") for z in zones]
    form.output.choices = [SelectChoice(k, str(v)) for k, v in OUTPUT.items()]
    if site is not None:
        form.site_id.data = site.id
        if not form.is_submitted():
            form.unit.data = str(site.unit_id)
            form.zones.data = [z.id for z in site.zones]
    return form


@bp.route("/sites/new", methods=["GET", "POST"])
@bp.route("/sites/<site_id>", methods=["GET", "POST"])
@roles_required("admin")
def site(site_id: str | None = None) -> ResponseReturnValue:
    existing = get_or_404(Site, site_id) if site_id is not None else None
    form = _site_form(existing)
    if form.validate_on_submit():
        session = db()
        try:
            saved = places.save_site(
                session,
                scope(),
                site_id=form.site_id.data or "",
                name=form.name.data or "",
                unit_id=int(form.unit.data or 0),
                zone_ids=list(form.zones.data or []),
                output=form.output.data or "amplifier",
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                existing=existing,
            )
        except places.PlaceError as exc:
            session.rollback()
            form.site_id.errors = [*form.site_id.errors, _refusal(exc)]
        else:
            session.commit()
            logger.info("site %s saved by %s", saved.id, current_user.username)
            flash(_("Saved."), "success")
            return redirect(url_for("places.site", site_id=saved.id))
    return render_template("places/site.html", form=form, site=existing, bundle=BundleForm())


@bp.route("/sites/<site_id>/bundle", methods=["POST"])
@roles_required("admin")
def bundle(site_id: str) -> ResponseReturnValue:
    """New MQTT credentials for the site at the broker, and its agent bundle as a zip."""
    from broadcaster.broker import SERVER_USER
    from broadcaster.provision.base import ProvisionError
    from broadcaster.provision.bundle import BundleOptions, ensure_server_user, provision_site
    from broadcaster.provision.kinds import broker_files

    row = get_or_404(Site, site_id)
    if not BundleForm().validate_on_submit():
        return redirect(url_for("places.site", site_id=site_id))
    settings = services().settings
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        try:
            broker = broker_files(settings.broker_kind, Path(settings.broker_dir))
            ensure_server_user(
                broker, settings.mqtt_username or SERVER_USER, settings.mqtt_password
            )
            made = provision_site(
                site=row.id,
                zones=[z.id for z in row.zones],
                broker=broker,
                options=BundleOptions.from_settings(settings, broker),
                out=Path(tmp) / row.id,
            )
        except (ProvisionError, OSError) as exc:
            logger.error("bundle for %s not made: %s", row.id, exc)
            flash(
                _(
                    "The web server could not write the broker's files (%(why)s): run "
                    "“broadcaster sites provision %(site)s” on the server.",
                    why=str(exc),
                    site=row.id,
                ),
                "error",
            )
            return redirect(url_for("places.site", site_id=site_id))
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(made.out.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{row.id}/{path.relative_to(made.out)}")
    logger.info("credentials and bundle for %s made by %s", row.id, current_user.username)
    return Response(
        data.getvalue(),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename=broadcaster-agent-{row.id}.zip",
            "Cache-Control": "no-store",  # it holds the site's password
        },
    )
