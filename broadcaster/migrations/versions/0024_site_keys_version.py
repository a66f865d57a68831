"""Each site's trusted-keys list version, as its heartbeats report it (issue 13, key rotation)

Revision ID: 0024
Revises: 0015
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite keeps the table's triggers (no batch rebuild).
    op.add_column("sites", sa.Column("keys_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL): a batch rebuild on SQLite would drop
    # the triggers 0014 keeps on this table.
    op.execute("ALTER TABLE sites DROP COLUMN keys_version")
