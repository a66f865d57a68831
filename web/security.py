"""Login (Flask-Login over ``broadcaster.accounts``), roles, and CSRF protection."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, g
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_required
from flask_wtf import CSRFProtect

from broadcaster.models import User
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES
from broadcaster.scope import Scope
from web.auth import sessions
from web.services import db

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
csrf = CSRFProtect()


class WebUser(UserMixin):
    """The logged-in user; ``model`` is the ORM row in this request's session."""

    def __init__(self, model: User) -> None:
        self.model = model
        self.id = model.id
        self.username = model.username
        self.display_name = model.display_name
        self.role = model.role

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


@login_manager.user_loader
def _load_user(user_id: str) -> WebUser | None:
    """The user of this request's live login session (web.auth.sessions), else anonymous."""
    try:
        uid = int(user_id)
    except ValueError:
        return None
    found = Scope.with_user(db(), uid)  # the user and their scope in one round trip
    if found is None:
        return None
    user, g.scope = found  # web.scope.scope() answers it for the rest of the request
    if not user.active or not sessions.is_live(uid):
        g.pop("scope")
        return None
    return WebUser(user)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Log in first; then a user whose role is not one of ``roles`` gets 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)
    # Templates show links by the same role sets the workflow enforces.
    app.jinja_env.globals.update(EDIT_ROLES=EDIT_ROLES, APPROVE_ROLES=APPROVE_ROLES)

    @app.context_processor
    def _logout_form() -> dict[str, Any]:
        from web.auth.forms import LogoutForm

        # Never bound to the posted data: an error page (413) must not read the body again.
        return {"logout_form": lambda: LogoutForm(formdata=None)}
