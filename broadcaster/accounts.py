"""User accounts: creation, password checks and changes (hashes by werkzeug.security, scrypt)."""

from __future__ import annotations

import re
import secrets
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from broadcaster.models import LoginSession, Unit, User
from broadcaster.roles import ROLES

MIN_PASSWORD_CHARS = 8
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class AccountError(ValueError):
    """A user cannot be created or changed as asked; ``code`` says why, for the web's words."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    unit: Unit | None = None,
) -> User:
    """A new user whose role applies to ``unit`` and below (default: the only top unit)."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    _check_length(username, password)
    if not USERNAME_RE.fullmatch(username):
        raise AccountError(
            f"username {username!r}: up to 64 lowercase letters, digits, '.', '_' or '-'",
            "bad-username",
        )
    if session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"user {username!r} exists already", "username-taken")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        unit=unit,
    )
    session.add(user)
    session.flush()
    return user


def _check_length(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"password for {username!r} is shorter than {MIN_PASSWORD_CHARS} characters",
            "short-password",
        )


@cache
def _dummy_hash() -> str:
    """A hash of a random password, checked for unknown users (made once per process)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None.

    A hash is checked whether or not the user exists (a dummy one for an unknown name), so the
    answer takes as long for a name that does not exist as for a wrong password.
    """
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else _dummy_hash()
    matches = check_password_hash(stored, password)
    if user is None or not user.active or not matches:
        return None
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password and end every login session of theirs."""
    _check_length(user.username, password)
    user.password_hash = generate_password_hash(password)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """The user's own change: ``current`` must be their password; then :func:`set_password`."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError(f"wrong current password for {user.username!r}")
    set_password(session, user, new)


EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE_RE = re.compile(r"\+?[0-9][0-9 .-]{6,30}")


def set_contact(session: Session, user: User, email: str | None, phone: str | None) -> None:
    """Where workflow notices reach ``user`` (``None`` leaves a field, "" clears it)."""
    if email is not None:
        email = email.strip()
        if email and (len(email) > 254 or not EMAIL_RE.fullmatch(email)):
            raise AccountError(f"{email!r} is not an e-mail address")
        user.email = email
    if phone is not None:
        phone = phone.strip()
        if phone and not PHONE_RE.fullmatch(phone):
            raise AccountError(f"{phone!r} is not a phone number (digits, optionally +84 …)")
        user.phone = phone
    session.flush()


def update_user(
    session: Session,
    actor: User,
    user: User,
    *,
    display_name: str,
    role: str,
    unit: Unit,
    active: bool,
) -> None:
    """An administrator's change to ``user``; disabling ends their login sessions. No one
    changes their own role, unit or access (an administrator could lock everyone out)."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if user.id == actor.id and (role != user.role or unit.id != user.unit_id or not active):
        raise AccountError(
            f"{actor.username!r} cannot change their own role, unit or access", "self"
        )
    ending = user.active and not active
    user.display_name = display_name.strip() or user.username
    user.role, user.unit, user.active = role, unit, active
    if ending:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
