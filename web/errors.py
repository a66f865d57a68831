"""Errors at the edge: a page for the UI, JSON for the API under /api."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from schedules.workflow import NotAllowed

logger = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist.")),
    405: (_l("Not allowed"), _l("This action is not available here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    500: (_l("Server error"), _l("Something went wrong on the server. Please try again.")),
}


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
    return _render(exc.code or 500)


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
    return _render(403)


def _server_error(_exc: Exception) -> ResponseReturnValue:
    session = g.get("db")
    if session is not None:
        session.rollback()
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotAllowed, _not_allowed)
    app.register_error_handler(500, _server_error)
