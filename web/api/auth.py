"""API access: a logged-in reader's session, or a bearer token: one made in the web or the CLI
(``broadcaster.api_tokens``: it reads its unit's subtree), or one from the ``api_tokens`` setting
(every unit)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, jsonify, request
from flask_login import current_user

from broadcaster import api_tokens
from broadcaster.roles import ROLES
from web.services import db, now, services

F = TypeVar("F", bound=Callable[..., Any])


def tokens() -> list[str]:
    """Tokens from the ``api_tokens`` setting (comma-separated), when the config has it."""
    raw = getattr(services().settings, "api_tokens", "") or ""
    return [t.strip() for t in raw.split(",") if len(t.strip()) >= 16]


def _bearer() -> bool:
    """Whether the request bears a valid token; notes in ``g`` what it may read (web.scope)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header.removeprefix("Bearer ").strip()
    if any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens()):
        g.api_token = True  # the installation's own token: every unit
        return True
    token = api_tokens.find(db(), given, now())
    if token is None:
        return False
    db().commit()  # its last use
    g.api_unit = token.unit_id
    return True


def api_access(view: F) -> F:
    """401 JSON (never a login redirect) unless a reader's session or a valid token."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_authenticated and current_user.role in ROLES:
            return view(*args, **kwargs)
        if _bearer():
            return view(*args, **kwargs)
        resp = jsonify(error="unauthorized", message="log in or send Authorization: Bearer <token>")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = "Bearer"
        return resp

    return cast(F, wrapped)
