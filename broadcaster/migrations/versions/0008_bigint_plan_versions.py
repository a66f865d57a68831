"""bigint plan versions: `site_plans.version` and `sites.reported_plan_version`

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 15:00:00.000000

Plan versions are milliseconds since the epoch (broadcaster/publish.py), about 1.8e12: past a
32-bit INTEGER. PostgreSQL refused them ("integer out of range"), so the scheduler published the
first site's plan on every tick and never recorded it, and ingest batches with a status failed.
SQLite stores 64-bit integers either way; its declared type changes only to match the models.

Batch mode on `sites` (SQLite recreates the table) is safe: broadcaster/migrations/env.py turns
SQLite foreign keys off while migrating, so dropping the old `sites` does not cascade to its
children (see 0004). On PostgreSQL it is a plain ALTER COLUMN ... TYPE BIGINT.

Downgrading clamps versions to the 32-bit maximum (the old schema cannot hold real ones).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (("site_plans", "version"), ("sites", "reported_plan_version"))
INT32_MAX = 2**31 - 1


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.Integer(),
                type_=sa.BigInteger(),
                existing_nullable=False,
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        op.execute(
            sa.text(f"UPDATE {table} SET {column} = :top WHERE {column} > :top").bindparams(
                top=INT32_MAX
            )
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.BigInteger(),
                type_=sa.Integer(),
                existing_nullable=False,
            )
