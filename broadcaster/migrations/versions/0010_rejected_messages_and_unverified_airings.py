"""rejected messages and unverified airings (issue 10)

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-05 17:57:17.360828

`rejected_messages` keeps every message from a site that ingest refused, with its reason.
`playbacks.verified` is false for a log row made only from a site's events, for an airing that
was neither in its published plan nor in a command sent to it; existing rows predate the check
and stay verified.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outbox", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_messages")),
    )
    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rejected_messages_outbox_seq", ["site_id", "outbox", "seq"], unique=False
        )
        batch_op.create_index("ix_rejected_messages_received_at", ["received_at"], unique=False)

    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.drop_column("verified")

    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_messages_received_at")
        batch_op.drop_index("ix_rejected_messages_outbox_seq")

    op.drop_table("rejected_messages")
