"""report roll-ups by month: ``report_announcement_months``, the daily per-(unit, announcement)
roll-up summed per month, so a year's report reads 12 months' rows instead of 365 days' (issue 12)

Revision ID: 0026
Revises: 0025 (written on 0015; follows main's head)
Create Date: 2026-12-06 00:10:00

Filled here from the daily rows already there (no playbacks are read); from then on
``broadcaster.rollups`` keeps each month with its days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_announcement_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("announcement_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("interrupted", sa.Integer(), nullable=False),
        sa.Column("aired_s", sa.Float(), nullable=False),
        sa.Column("items_planned", sa.Integer(), nullable=False),
        sa.Column("items_finished", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "unit_id", "announcement_id", name=op.f("pk_report_announcement_months")
        ),
    )
    op.create_index(
        "ix_report_announcement_months_unit_month",
        "report_announcement_months",
        ["unit_id", "month"],
    )
    op.create_index(
        "ix_report_announcement_months_announcement_month",
        "report_announcement_months",
        ["announcement_id", "month"],
    )
    if op.get_bind().dialect.name == "postgresql":
        month = "date_trunc('month', day)::date"
    else:
        month = "date(day, 'start of month')"
    op.execute(
        "INSERT INTO report_announcement_months (month, unit_id, announcement_id, planned, "  # noqa: S608 - no outside input
        "finished, interrupted, aired_s, items_planned, items_finished) "
        f"SELECT {month}, unit_id, announcement_id, sum(planned), sum(finished), "
        "sum(interrupted), sum(aired_s), sum(items_planned), sum(items_finished) "
        f"FROM report_announcement_days GROUP BY {month}, unit_id, announcement_id"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_report_announcement_months_announcement_month", "report_announcement_months"
    )
    op.drop_index("ix_report_announcement_months_unit_month", "report_announcement_months")
    op.drop_table("report_announcement_months")
