"""log views at 10 M rows: the airing's priority on playbacks, indexed with the time (issue 12);
who merged a unit (issue 11)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 21:10:00

The log's priority filter was ``announcement_id IN (announcements of that priority)``: a
quarter of a year's rows match, and no index serves both the filter and the time order (741 ms
p95 on SQLite at 10 M rows). The airing's priority is now a column of its own, filled from the
announcements for the rows already there. ``units.merged_by`` records who merged a commune
from the web (the CLI leaves it empty).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild on SQLite: playbacks has no plan_marks triggers, and
    # a copy of 10 M rows is not needed for a nullable column).
    op.add_column("playbacks", sa.Column("priority", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE playbacks SET priority = (SELECT announcements.priority FROM announcements "
        "WHERE announcements.id = playbacks.announcement_id) WHERE announcement_id IS NOT NULL"
    )
    op.create_index(
        "ix_playbacks_priority_scheduled", "playbacks", ["priority", "scheduled_at"], unique=False
    )
    # The status index gains the priority: "failed" and a priority together count from the
    # index alone (rebuilt: a few minutes at 10 M rows).
    op.drop_index("ix_playbacks_status_scheduled", table_name="playbacks")
    op.create_index(
        "ix_playbacks_status_scheduled_priority",
        "playbacks",
        ["status", "scheduled_at", "priority"],
        unique=False,
    )
    # And so does the unit index, for a commune's views with a status or a priority.
    op.drop_index("ix_playbacks_unit_scheduled", table_name="playbacks")
    op.create_index(
        "ix_playbacks_unit_scheduled_status_priority",
        "playbacks",
        ["unit_id", "scheduled_at", "status", "priority"],
        unique=False,
    )
    op.add_column("units", sa.Column("merged_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL): a batch rebuild on SQLite would drop
    # the triggers 0014 and 0016 keep on these tables.
    op.execute("ALTER TABLE units DROP COLUMN merged_by")
    op.drop_index("ix_playbacks_unit_scheduled_status_priority", table_name="playbacks")
    op.create_index(
        "ix_playbacks_unit_scheduled", "playbacks", ["unit_id", "scheduled_at"], unique=False
    )
    op.drop_index("ix_playbacks_status_scheduled_priority", table_name="playbacks")
    op.create_index(
        "ix_playbacks_status_scheduled", "playbacks", ["status", "scheduled_at"], unique=False
    )
    op.drop_index("ix_playbacks_priority_scheduled", table_name="playbacks")
    op.execute("ALTER TABLE playbacks DROP COLUMN priority")
