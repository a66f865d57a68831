"""API access: a logged-in officer's session, or a bearer token from the settings."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, jsonify, request
from flask_login import current_user

from broadcaster.roles import ROLES
from web.services import services

F = TypeVar("F", bound=Callable[..., Any])


def tokens() -> list[str]:
    """Tokens from the ``api_tokens`` setting (comma-separated), when the config has it."""
    raw = getattr(services().settings, "api_tokens", "") or ""
    return [t.strip() for t in raw.split(",") if len(t.strip()) >= 16]


def _bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header.removeprefix("Bearer ").strip().encode()
    return any(hmac.compare_digest(given, t.encode()) for t in tokens())


def api_access(view: F) -> F:
    """401 JSON (never a login redirect) unless a reader's session or a valid token."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_authenticated and current_user.role in ROLES:
            return view(*args, **kwargs)
        if _bearer_ok():
            g.api_token = True  # the installation's own token: every unit (web.scope)
            return view(*args, **kwargs)
        resp = jsonify(error="unauthorized", message="log in or send Authorization: Bearer <token>")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = "Bearer"
        return resp

    return cast(F, wrapped)
