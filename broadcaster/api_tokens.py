"""Bearer tokens for the JSON API (issue 13): made once and shown once, kept as SHA-256, each
reading one unit's subtree; revoked, never deleted (the log says who made it and when)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import ApiToken, Unit, User

PREFIX = "bt_"  # tells a token apart from a password in a config file or a log
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


class TokenError(ValueError):
    """A token cannot be made as asked."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    session: Session, name: str, unit: Unit, by: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for ``unit`` and below: the row, and the secret (shown once, never kept)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of at most 100 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, token_sha256=digest(secret), unit=unit, created_by=by, created_at=now
    )
    session.add(token)
    session.flush()
    return token, secret


def find(session: Session, secret: str, now: datetime) -> ApiToken | None:
    """The live token with this secret (its last use noted), or None."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == digest(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if token is not None and (
        token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
    ):
        token.last_used_at = now
        session.flush()
    return token


def revoke(session: Session, token: ApiToken, now: datetime) -> None:
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
