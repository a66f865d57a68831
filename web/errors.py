"""Errors at the edge: a page for the UI, JSON for the API under /api.

The services' refusals reach the user here, not route by route: a ``WorkflowError`` (translated
by its stable code, ``web.announcements.messages.explain``) and a ``TTSError`` (the speech engine
failed). On a form post they are flashed, then the view's own page is shown again with the
user's input (``on_refusal(page=...)``) or the browser goes back (``on_refusal(back=...)``, else
the referring page); under /api they are JSON ``{"error": {"code", "message"}}``. A blueprint
with refusals of its own (recordings) registers handlers that call :func:`refusal_response`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from audio.tts.base import TTSError
from schedules.workflow import NotAllowed, WorkflowError
from web.announcements.messages import explain

logger = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist.")),
    405: (_l("Not allowed"), _l("This action is not available here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    500: (_l("Server error"), _l("Something went wrong on the server. Please try again.")),
}
TTS_FAILED = _l("Could not make the audio: the speech engine failed. Try again in a moment.")
# Refusals because of the announcement's state (409), not because of what was sent (422).
CONFLICTS = frozenset(
    {
        "not-draft",
        "not-submitted",
        "not-submitted-reject",
        "no-audio",
        "too-late",
        "not-editable",
        "not-editable-state",
        "already-withdrawn",
        "not-approved-cancel",
        "airing-passed",
        "no-such-airing",
        "emergency-fixed",
        "emergency-stopped",
        "delivery-state",
    }
)


def _render(code: int, detail: str | None = None) -> ResponseReturnValue:
    title, message = MESSAGES.get(code, (_l("Error"), _l("Something went wrong.")))
    if request.path.startswith("/api/"):
        return jsonify(error=str(title), message=detail or str(message)), code
    return (
        render_template(
            "errors/error.html", code=code, title=title, message=message, detail=detail
        ),
        code,
    )


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code == 413:
        return _too_large()
    return _render(exc.code or 500)


def _too_large() -> ResponseReturnValue:
    """413: the body is over the one upload limit; the page states it, as the upload form does."""
    from web.services import services

    limit = services().settings.recording_max_bytes
    logger.info("refused %s %s: body over the limit", request.method, request.path)
    return _render(
        413,
        _("The largest file this site accepts is %(mb)s MB.", mb=upload_limit_mb(limit)),
    )


def upload_limit_mb(limit_bytes: int) -> str:
    """The upload limit as the pages state it, e.g. "20" or "1.5" (MB of 1024 × 1024 bytes)."""
    return f"{limit_bytes / 1024 / 1024:.1f}".removesuffix(".0")


def _csrf_error(_exc: CSRFError) -> ResponseReturnValue:
    return _render(
        400,
        str(
            _l(
                "The form has expired or was not sent from this site. Reload the page and try again."
            )
        ),
    )


def _not_allowed(exc: NotAllowed) -> ResponseReturnValue:
    logger.warning("refused: %s", exc)
    _rollback()
    if request.path.startswith("/api/"):
        return jsonify(error={"code": exc.code, "message": explain(exc)}), 403
    return _render(403)


def on_refusal(
    *, page: Callable[[], ResponseReturnValue] | None = None, back: str | None = None
) -> None:
    """How this request's form post answers a refusal: show ``page`` again (the view's own
    page, so the user's input is kept) with the refusal's status, else redirect to ``back``
    (default: the referring page of this site)."""
    g.on_refusal = (page, back)


def refusal_response(exc: Exception, message: str, code: str, status: int) -> ResponseReturnValue:
    """The answer to a refused request, after rolling the request's session back."""
    _rollback()
    if request.path.startswith("/api/"):
        return jsonify(error={"code": code, "message": message}), status
    page, back = g.pop("on_refusal", (None, None))
    if request.method != "POST":
        return _render(status, message)
    flash(message, "error")
    if page is not None:
        response = current_app.make_response(page())
        response.status_code = status
        return response
    return redirect(back or _referrer() or url_for("index"))


def _referrer() -> str | None:
    """The referring page when it is on this site (never send the user elsewhere)."""
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _workflow_error(exc: WorkflowError) -> ResponseReturnValue:
    logger.info("refused %s %s: %s", request.method, request.path, exc)
    status = 409 if exc.code in CONFLICTS else 422
    return refusal_response(exc, explain(exc), exc.code, status)


def _tts_error(exc: TTSError) -> ResponseReturnValue:
    logger.warning("speech engine failed on %s %s: %s", request.method, request.path, exc)
    return refusal_response(exc, str(TTS_FAILED), "tts-failed", 502)


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


def _server_error(_exc: Exception) -> ResponseReturnValue:
    _rollback()
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotAllowed, _not_allowed)
    app.register_error_handler(WorkflowError, _workflow_error)
    app.register_error_handler(TTSError, _tts_error)
    app.register_error_handler(500, _server_error)
