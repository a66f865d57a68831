"""live sessions: who spoke live, where, from when to when (issue 14)

Revision ID: 0019
Revises: 0018 (main's head when rebased; first written on 0012)
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("speaker_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("mount", sa.String(length=128), nullable=False),
        sa.Column("started_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("ended_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_live_sessions_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"], ["users.id"], name=op.f("fk_live_sessions_speaker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sessions")),
        sa.UniqueConstraint("name", name=op.f("uq_live_sessions_name")),
    )
    op.create_index(
        op.f("ix_live_sessions_announcement_id"), "live_sessions", ["announcement_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_live_sessions_announcement_id"), table_name="live_sessions")
    op.drop_table("live_sessions")
