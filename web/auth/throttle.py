"""Login throttling: failed logins are rows in the database, counted per account and per address
over the last ``login_window_minutes``, so every web process (and PostgreSQL) sees the same
counts. Past ``login_max_failures_per_account`` or ``…_per_address`` the login form refuses
(429) without checking the password, until the oldest counted failure leaves the window.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select

from broadcaster.models import LoginFailure
from web.services import db, now, services

KEY_CHARS = 64  # the columns' length


def _window() -> timedelta:
    return timedelta(minutes=services().settings.login_window_minutes)


def _account(username: str) -> str:
    return username.strip().lower()[:KEY_CHARS]


def _oldest_counted(where: ColumnElement[bool], limit: int, since: datetime) -> datetime | None:
    """When ``limit`` or more failures match since ``since``: the time the newest ``limit``
    of them began (the lock lifts when that one leaves the window); else None."""
    times = (
        db()
        .scalars(
            select(LoginFailure.at)
            .where(where, LoginFailure.at >= since)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        )
        .all()
    )
    return times[-1] if len(times) >= limit else None


def retry_after(username: str, address: str) -> int | None:
    """Minutes until a login for this account from this address may be tried again, or None
    when it may be tried now."""
    settings = services().settings
    at = now()
    since = at - _window()
    starts = [
        _oldest_counted(
            LoginFailure.username == _account(username),
            settings.login_max_failures_per_account,
            since,
        ),
        _oldest_counted(
            LoginFailure.address == address[:KEY_CHARS],
            settings.login_max_failures_per_address,
            since,
        ),
    ]
    locked = [s + _window() for s in starts if s is not None]
    if not locked:
        return None
    return max(1, math.ceil((max(locked) - at).total_seconds() / 60))


def record_failure(username: str, address: str) -> None:
    """Count a failed login (the caller commits); failures older than the window are dropped."""
    at = now()
    session = db()
    session.execute(delete(LoginFailure).where(LoginFailure.at < at - _window()))
    session.add(LoginFailure(username=_account(username), address=address[:KEY_CHARS], at=at))


def forget(username: str) -> None:
    """A successful login clears the account's failures (not the address's)."""
    db().execute(delete(LoginFailure).where(LoginFailure.username == _account(username)))
