"""Rows kept only for a while: ingest's refused messages (``rejected_messages``) older than
``rejected_messages_keep_days``.

Refusals are for forensics and the site-health page (the last day's); playback events, the
playback log and the roll-ups are the record of what aired and are never pruned. Deleted in
chunks of ``CHUNK`` rows, one transaction each, so SQLite's one writer (ingest) is never held
for long and PostgreSQL never locks millions of rows at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import RejectedMessage

logger = logging.getLogger(__name__)

CHUNK = 5000


@dataclass
class RejectedPruneReport:
    cutoff: datetime  # rows received before this go
    by_reason: dict[str, int] = field(default_factory=dict)  # what was (would be) deleted
    dry_run: bool = False

    @property
    def deleted(self) -> int:
        return sum(self.by_reason.values())


def prune_rejected(
    factory: sessionmaker[Session],
    now: datetime,
    keep: timedelta,
    *,
    dry_run: bool = False,
    chunk: int = CHUNK,
) -> RejectedPruneReport:
    """Delete the refused messages received before ``now - keep`` (count them: ``dry_run``)."""
    cutoff = now - keep
    old = RejectedMessage.received_at < cutoff
    with factory() as session:
        counts = session.execute(
            select(RejectedMessage.reason, func.count())
            .where(old)
            .group_by(RejectedMessage.reason)
            .order_by(RejectedMessage.reason)
        )
        report = RejectedPruneReport(cutoff, {reason: n for reason, n in counts}, dry_run)
    if dry_run or not report.deleted:
        return report
    deleted = 0
    while True:
        with factory() as session, session.begin():
            ids = list(
                session.scalars(
                    select(RejectedMessage.id).where(old).order_by(RejectedMessage.id).limit(chunk)
                )
            )
            if ids:
                session.execute(
                    delete(RejectedMessage).where(RejectedMessage.id.in_(ids)),
                    execution_options={"synchronize_session": False},
                )
        deleted += len(ids)
        if len(ids) < chunk:
            break
    logger.info("deleted %d refused messages received before %s", deleted, cutoff.isoformat())
    return report
