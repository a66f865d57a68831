"""Upload or record a version, remove it, and the JSON API the browser recorder posts to."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from audio.recordings import RecordingError
from broadcaster.models import Announcement, AnnouncementVersion
from broadcaster.roles import EDIT_ROLES, ROLES
from schedules import versions
from schedules.workflow import NotAllowed, WorkflowError
from web import errors
from web.errors import refusal_response
from web.limits import parse_id
from web.recordings.forms import RecordingForm, RemoveForm
from web.recordings.labels import explain_refusal, language_name
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import db, services

bp = Blueprint(
    "recordings",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/recordings/static",
)

logger = logging.getLogger(__name__)


def _announcement(ann_id: Any) -> Announcement:
    key = parse_id(ann_id)
    if key is None:
        abort(404)
    return get_or_404(Announcement, key)


@bp.errorhandler(RecordingError)
@bp.errorhandler(WorkflowError)
@bp.errorhandler(NotAllowed)
def _refused(exc: RecordingError | WorkflowError | NotAllowed) -> ResponseReturnValue:
    """A refused recording or change: flashed on the announcement page, JSON under /api."""
    logger.info("recording change refused on %s: %s", request.path, exc)
    if isinstance(exc, RecordingError):
        status = 413 if exc.code == "too_big" else 422
    elif isinstance(exc, NotAllowed):
        status = 403
    else:
        status = 409 if exc.code in errors.CONFLICTS else 422
    return refusal_response(exc, explain_refusal(exc), exc.code, status)


def _too_big() -> RecordingError:
    limit = services().settings.recording_max_bytes
    size = request.content_length or limit + 1
    return RecordingError(
        "too_big", f"the upload is {size} bytes; the limit is {limit}", size=size, limit=limit
    )


def _save(
    ann: Announcement, upload: FileStorage | None, language: str, source: str
) -> AnnouncementVersion:
    """Validate, master and store the upload; raise the refusal (nothing stored) otherwise."""
    if upload is None:
        raise RecordingError("empty", "no file was sent")
    settings = services().settings
    data = upload.read(settings.recording_max_bytes + 1)
    return versions.add_recording(
        db(),
        ann,
        current_user.model,
        data,
        language=language,
        settings=settings,
        store=services().media,
        source=source if source in versions.SOURCES else "upload",
        original_name=upload.filename or "",
    )


def version_json(v: AnnouncementVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "announcement_id": v.announcement_id,
        "language": v.language,
        "language_name": language_name(v.language),
        "kind": v.kind,
        "source": v.source,
        "media": {
            "sha256": v.media.sha256,
            "url": url_for("media.get", name=f"{v.media.sha256}.{v.media.ext}"),
            "size": v.media.size,
            "duration_ms": v.media.duration_ms,
        },
    }


@bp.route("/announcements/<int:ann_id>/recordings", methods=["POST"])
@roles_required(*EDIT_ROLES)
def upload(ann_id: int) -> ResponseReturnValue:
    ann = _announcement(ann_id)
    back = url_for("announcements.detail", ann_id=ann_id) + "#recordings"
    errors.on_refusal(back=back)
    try:
        form = RecordingForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        raise _too_big() from None
    if not valid:
        for messages in form.errors.values():
            for e in messages:
                flash(str(e), "error")
        return redirect(back)
    version = _save(ann, form.file.data, form.language.data, form.source.data)
    db().commit()
    flash(
        _(
            "Recording in %(language)s saved. Listen to it below.",
            language=language_name(version.language),
        ),
        "success",
    )
    return redirect(back)


@bp.route("/announcements/<int:ann_id>/recordings/<int:version_id>/remove", methods=["POST"])
@roles_required(*EDIT_ROLES)
def remove(ann_id: int, version_id: int) -> ResponseReturnValue:
    version = db().get(AnnouncementVersion, version_id)
    if (
        version is None
        or version.announcement_id != ann_id
        or scope().get(db(), Announcement, ann_id) is None
        or not RemoveForm().validate_on_submit()
    ):
        abort(404)
    back = url_for("announcements.detail", ann_id=ann_id) + "#recordings"
    errors.on_refusal(back=back)
    versions.remove_recording(db(), version, current_user.model)
    db().commit()
    flash(_("Recording removed."), "success")
    return redirect(back)


def _api_error(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.route("/api/recordings", methods=["GET"])
@roles_required(*ROLES)
def api_list() -> ResponseReturnValue:
    ann = _announcement(request.args.get("announcement_id"))
    return jsonify({"recordings": [version_json(v) for v in ann.versions]})


@bp.route("/api/recordings", methods=["POST"])
def api_create() -> ResponseReturnValue:
    """multipart/form-data: announcement_id, language, file, source (upload | browser)."""
    if not current_user.is_authenticated:
        return _api_error(401, "login-required", _("Please log in to see this page."))
    try:
        form = request.form
        upload_file = request.files.get("file")
    except RequestEntityTooLarge:
        raise _too_big() from None
    ann = _announcement(form.get("announcement_id"))
    version = _save(ann, upload_file, form.get("language", ""), form.get("source", "upload"))
    db().commit()
    return jsonify(version_json(version)), 201


@bp.app_template_global()
def recordings_panel(ann: Announcement) -> dict[str, Any]:
    """What the announcement page shows of the recorded versions (see _panel.html)."""
    user = current_user
    can_edit = (
        ann.status in versions.EDITABLE_STATES
        and user.role in EDIT_ROLES
        and (user.id == ann.author_id or user.role == "admin")
    )
    form = RecordingForm()
    minority = sorted({z.language for z in ann.zones if z.language and z.language != "vi"})
    if minority:  # the zones' own language first: that is what a recording is for
        form.language.data = minority[0]
    return {
        "versions": list(ann.versions),
        "can_edit": can_edit,
        "form": form,
        "remove_form": RemoveForm(),
        "limit_s": round(services().settings.recording_max_seconds),
        "limit_mb": errors.upload_limit_mb(services().settings.recording_max_bytes),
        "language_name": language_name,
    }
