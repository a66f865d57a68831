"""emergency delivery: each site's confirmation of an emergency command, and the command kept
for re-sending it to sites that stay silent (issue 10)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-05 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("emergencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("command_body", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "emergency_deliveries",
        sa.Column("emergency_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("sent_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("silent_since", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["emergency_id"],
            ["emergencies.id"],
            name=op.f("fk_emergency_deliveries_emergency_id_emergencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_emergency_deliveries_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("emergency_id", "site_id", name=op.f("pk_emergency_deliveries")),
    )
    with op.batch_alter_table("emergency_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_deliveries_site_id"), ["site_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("emergency_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_deliveries_site_id"))
    op.drop_table("emergency_deliveries")
    with op.batch_alter_table("emergencies", schema=None) as batch_op:
        batch_op.drop_column("command_body")
