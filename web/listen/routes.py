""" "Nghe thử" (listen) while composing (issue 13): the draft's text, as the form holds it now,
rendered by the app's renderer and played in the page, with its spoken form.

The page's script (``static/listen.js``) posts the whole form here (its CSRF token included) and
shows the answer: JSON ``{"audio", "spoken", "seconds"}`` or ``{"error"}`` in the user's
language. The announcement forms and the bulletin form include ``listen/_listen.html``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from audio.tts.base import TTSError
from broadcaster.models import MAX_REPEAT
from broadcaster.wire.plan import PRIORITIES
from schedules import preview
from schedules.workflow import NotAllowed, WorkflowError
from web.announcements.messages import explain
from web.errors import TTS_FAILED
from web.listen.slots import preview_slot
from web.security import roles_required
from web.services import db, services

bp = Blueprint("listen", __name__, url_prefix="/listen", template_folder="templates")

logger = logging.getLogger(__name__)

BUSY = _l("Other drafts are being read out right now. Try again in a few seconds.")


def _refused(message: str, status: int) -> ResponseReturnValue:
    return jsonify(error=message), status


def _repeat() -> int | None:
    raw = request.form.get("repeat", "")
    return int(raw) if raw.isdigit() and len(raw) <= len(str(MAX_REPEAT)) else None


@bp.route("", methods=["POST"])
@roles_required(*preview.PREVIEW_ROLES)
def render() -> ResponseReturnValue:
    """Render the posted draft (``body``, ``priority``, ``repeat``, ``zones``)."""
    settings = services().settings
    priority = request.form.get("priority", "normal")
    session = db()
    try:
        draft = preview.prepare(
            session,
            current_user.model,
            text=request.form.get("body", ""),
            priority=priority if priority in PRIORITIES else "normal",
            repeat=_repeat(),
            zone_ids=request.form.getlist("zones"),
            max_chars=settings.max_text_chars,
        )
    except NotAllowed as exc:
        return _refused(explain(exc), 403)
    except WorkflowError as exc:
        return _refused(explain(exc), 422)
    # Nothing is held while the engine speaks: no transaction, no connection.
    session.rollback()
    session.close()
    with preview_slot(Path(settings.render_cache_dir) / "preview-slots") as free:
        if not free:
            return _refused(str(BUSY), 429)
        try:
            rendered = preview.render(draft, services().renderer)
        except WorkflowError as exc:
            return _refused(explain(exc), 422)
        except TTSError as exc:
            logger.warning("preview: the speech engine failed: %s", exc)
            return _refused(str(TTS_FAILED), 502)
    return jsonify(
        audio=url_for("media.get", name=f"{rendered.sha256}.{rendered.ext}"),
        spoken=draft.spoken,
        seconds=round(rendered.duration_ms / 1000, 1),
    )
