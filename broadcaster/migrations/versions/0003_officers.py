"""officers: site health columns, site alerts, playback indexes (issue 6)

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-23 00:33:52.765589
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("cleared_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("notified_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_alerts_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_alerts")),
    )
    with op.batch_alter_table("site_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_site_alerts_open", ["site_id", "kind", "cleared_at"], unique=False)

    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_playbacks_announcement_scheduled", ["announcement_id", "scheduled_at"], unique=False
        )
        batch_op.create_index("ix_playbacks_site_scheduled", ["site_id", "scheduled_at"], unique=False)
        batch_op.create_index("ix_playbacks_status_scheduled", ["status", "scheduled_at"], unique=False)

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", broadcaster.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cpu_temp_c", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("clock_offset_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("clock_offset_ms")
        batch_op.drop_column("cpu_temp_c")
        batch_op.drop_column("disk_free_bytes")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")

    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_playbacks_status_scheduled")
        batch_op.drop_index("ix_playbacks_site_scheduled")
        batch_op.drop_index("ix_playbacks_announcement_scheduled")

    with op.batch_alter_table("site_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_site_alerts_open")

    op.drop_table("site_alerts")
