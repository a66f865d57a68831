"""bulletins: an upper unit's bulletins to its communes, one delivery per commune, and the
announcements' precedence among airings of one priority (issue 11)

Revision ID: 0015
Revises: 0017 (written on 0012; follows main's head)
Create Date: 2026-12-05 21:15:00

``announcements.precedence`` is added with a plain ALTER TABLE (no batch on SQLite), so the
table keeps its plan-mark triggers (0014).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0015"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("created_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("decided_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("tts_engine", sa.String(length=32), nullable=False),
        sa.Column("emergency_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["users.id"], name=op.f("fk_bulletins_approver_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_bulletins_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["emergency_id"], ["emergencies.id"], name=op.f("fk_bulletins_emergency_id_emergencies")
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_bulletins_media_sha256_media")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_bulletins_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletins")),
    )
    op.create_index(op.f("ix_bulletins_status"), "bulletins", ["status"], unique=False)
    op.create_index(op.f("ix_bulletins_unit_id"), "bulletins", ["unit_id"], unique=False)
    op.create_table(
        "bulletin_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_bulletin_deliveries_announcement_id_announcements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_bulletin_deliveries_bulletin_id_bulletins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_bulletin_deliveries_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_bulletin_deliveries_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_deliveries")),
        sa.UniqueConstraint("bulletin_id", "unit_id", name="uq_delivery_commune"),
    )
    op.create_index(
        op.f("ix_bulletin_deliveries_state"), "bulletin_deliveries", ["state"], unique=False
    )
    op.create_index(
        op.f("ix_bulletin_deliveries_unit_id"), "bulletin_deliveries", ["unit_id"], unique=False
    )
    op.add_column(
        "announcements",
        sa.Column("precedence", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE announcements DROP COLUMN precedence")  # keeps the triggers
    else:
        op.drop_column("announcements", "precedence")
    op.drop_index(op.f("ix_bulletin_deliveries_unit_id"), table_name="bulletin_deliveries")
    op.drop_index(op.f("ix_bulletin_deliveries_state"), table_name="bulletin_deliveries")
    op.drop_table("bulletin_deliveries")
    op.drop_index(op.f("ix_bulletins_unit_id"), table_name="bulletins")
    op.drop_index(op.f("ix_bulletins_status"), table_name="bulletins")
    op.drop_table("bulletins")
