"""This request's scope (``broadcaster.scope``): the logged-in user's units, or everything for
an API token; and the lookups that answer 404 outside it."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, g
from flask_login import current_user

from broadcaster.scope import Scope
from web.services import db

T = TypeVar("T")

NOTHING = Scope(frozenset())


def scope() -> Scope:
    """The scope of this request, found once: the user's subtree (loaded with the user, by
    ``web.security``); a bearer token (checked by ``web.api.auth``) its unit's subtree, or every
    unit for the ``api_tokens`` setting's; anyone else nothing."""
    # Asking who is logged in loads the user first, and with them g.scope (web.security).
    authenticated = current_user.is_authenticated
    if "scope" not in g:
        if authenticated:
            g.scope = Scope.of(db(), current_user.model)  # a user logged in another way
        elif g.get("api_token"):
            g.scope = Scope.whole()
        elif g.get("api_unit") is not None:
            g.scope = Scope.below(db(), g.api_unit)
        else:
            g.scope = NOTHING
    found: Scope = g.scope
    return found


def get_or_404(model: type[T], key: Any) -> T:
    """The row with this key if it exists and is in scope; else 404, whichever it is."""
    row = scope().get(db(), model, key)
    if row is None:
        abort(404)
    return row
