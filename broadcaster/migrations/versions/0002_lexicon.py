"""lexicon: admins' abbreviations and pronunciations (issue 3)

Revision ID: 0002
Revises: 0003
Create Date: 2026-11-23 01:10:00.000000

Numbered 0002 as planned, but placed after 0003 (the head when it was written) so the
history stays one straight line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0002"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexicon_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("spoken", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_entries")),
        sa.UniqueConstraint("term", name=op.f("uq_lexicon_entries_term")),
    )


def downgrade() -> None:
    op.drop_table("lexicon_entries")
