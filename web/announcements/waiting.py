"""The count of announcements waiting for the approver, shown in the navigation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from broadcaster.queries.waiting import waiting_for_approval
from broadcaster.roles import APPROVE_ROLES
from web.scope import scope
from web.services import db


def init_app(app: Flask) -> None:
    @app.context_processor
    def _waiting() -> dict[str, Any]:
        # Called by the template only where it shows the link (one COUNT per page).
        return {"waiting_count": _count}


def _count() -> int:
    if not current_user.is_authenticated or current_user.role not in APPROVE_ROLES:
        return 0
    return waiting_for_approval(db(), scope(), current_user.model.id)
