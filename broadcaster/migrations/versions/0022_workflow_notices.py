"""workflow notices: users' e-mail and phone, and the notices kept until they went out
(issue 13)

Revision ID: 0022
Revises: 0012
Create Date: 2026-12-05 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0022"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sa.String(length=254), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("phone", sa.String(length=32), nullable=False, server_default="")
        )
    op.create_table(
        "workflow_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("email_sent", sa.Boolean(), nullable=False),
        sa.Column("webhook_sent", sa.Boolean(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_workflow_notices_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_workflow_notices_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_notices")),
    )
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_notices_announcement_id"), ["announcement_id"], unique=False
        )
        batch_op.create_index("ix_workflow_notices_pending", ["done", "next_try_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_notices_pending")
        batch_op.drop_index(batch_op.f("ix_workflow_notices_announcement_id"))
    op.drop_table("workflow_notices")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
