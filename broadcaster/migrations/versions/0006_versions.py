"""versions: recorded announcements in the villages' languages; repeat count (issue 3)

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 02:30:00.000000

Announcement.repeat is added with a plain ADD COLUMN (no batch recreate of `announcements`
on SQLite: with foreign keys on, that would cascade-delete its children; see 0004).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "announcements", sa.Column("repeat", sa.Integer(), nullable=False, server_default="2")
    )
    # Existing priority and emergency notices get their priority's default (three times).
    op.execute("UPDATE announcements SET repeat = 3 WHERE priority IN ('priority', 'emergency')")
    op.create_table(
        "announcement_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=256), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_versions_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_announcement_versions_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"],
            ["media.sha256"],
            name=op.f("fk_announcement_versions_media_sha256_media"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_versions")),
        sa.UniqueConstraint("announcement_id", "language", name="uq_announcement_version_language"),
    )
    op.create_index(
        op.f("ix_announcement_versions_announcement_id"),
        "announcement_versions",
        ["announcement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_announcement_versions_announcement_id"), table_name="announcement_versions"
    )
    op.drop_table("announcement_versions")
    op.drop_column("announcements", "repeat")  # SQLite ≥ 3.35 drops a column in place
