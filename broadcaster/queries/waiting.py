"""What waits for a user's decision: submitted announcements in their scope that they did not
write (an approver never decides on their own: ``schedules.workflow``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import Announcement
from broadcaster.scope import Scope


def waiting_for_approval(session: Session, scope: Scope, user_id: int) -> int:
    """How many announcements in ``scope`` wait for approval by anyone but their author,
    here ``user_id``."""
    query = (
        select(func.count())
        .select_from(Announcement)
        .where(
            Announcement.status == "submitted",
            Announcement.author_id != user_id,
            scope.announcements(),
        )
    )
    return int(session.scalar(query) or 0)
