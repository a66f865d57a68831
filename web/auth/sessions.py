"""Server-side login sessions: the signed cookie carries a random token, the database its row.

A copied cookie stops working at logout (the row is deleted), after ``session_idle_minutes``
without a request, ``session_max_hours`` after login, and when the user's password changes
(``broadcaster.accounts.set_password`` deletes all their rows). Time is the app's clock.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import session as cookie
from sqlalchemy import delete

from broadcaster.models import LoginSession, User
from web.services import db, now, services

logger = logging.getLogger(__name__)

TOKEN_KEY = "login_token"  # noqa: S105 - the key's name in the cookie
KEPT_AT_LOGIN = ("lang",)  # the chosen language survives login; nothing else does
# last_seen_at is written at most this often (one write a minute, not one a request): the idle
# expiry is exact to within this.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> None:
    """A new session for ``user`` in this request's cookie (the caller commits ``db()``).
    Whatever the cookie held before is dropped, so a planted cookie never becomes a login."""
    token = secrets.token_urlsafe(32)
    at = now()
    db().add(
        LoginSession(token_sha256=_digest(token), user_id=user.id, created_at=at, last_seen_at=at)
    )
    kept = {k: cookie[k] for k in KEPT_AT_LOGIN if k in cookie}
    cookie.clear()
    cookie.update(kept)
    cookie[TOKEN_KEY] = token


def end() -> None:
    """End this request's session (the caller commits ``db()``)."""
    token = cookie.pop(TOKEN_KEY, None)
    if isinstance(token, str):
        db().execute(delete(LoginSession).where(LoginSession.token_sha256 == _digest(token)))


def is_live(user_id: int) -> bool:
    """Whether this request's cookie holds a live session of ``user_id``; an expired one is
    deleted. Runs in its own transaction: the request's session may be half-way through work."""
    token = cookie.get(TOKEN_KEY)
    if not isinstance(token, str):
        return False
    settings = services().settings
    at = now()
    with services().sessions.begin() as s:
        row = s.get(LoginSession, _digest(token))
        if row is None or row.user_id != user_id:
            return False
        idle = at - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes)
        old = at - row.created_at >= timedelta(hours=settings.session_max_hours)
        if idle or old:
            logger.info("session of user %d expired (%s)", user_id, "idle" if idle else "too old")
            s.delete(row)
            cookie.pop(TOKEN_KEY, None)
            return False
        if at - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = at
    return True
