"""What waits for a user's decision: submitted announcements in their scope that they did not
write (an approver never decides on their own: ``schedules.workflow``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from broadcaster.models import Announcement
from broadcaster.scope import Scope


def awaiting(scope: Scope, user_id: int) -> ColumnElement[bool]:
    """Announcements in ``scope`` that wait for approval by ``user_id`` (not their author)."""
    return and_(
        Announcement.status == "submitted",
        Announcement.author_id != user_id,
        scope.announcements(),
    )


def waiting_for_approval(session: Session, scope: Scope, user_id: int) -> int:
    """How many announcements wait for ``user_id``'s approval (the menu's count)."""
    query = select(func.count()).select_from(Announcement).where(awaiting(scope, user_id))
    return int(session.scalar(query) or 0)
