"""relay fallback: the stored message agents play when a relayed stream fails

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 01:19:34.019181

Batch mode on `relays` is safe: broadcaster/migrations/env.py turns SQLite foreign keys off
while migrating, so recreating the table does not cascade to `relay_zones` (see 0004).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relays", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback_sha256", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_relays_fallback_sha256_media"), "media", ["fallback_sha256"], ["sha256"]
        )


def downgrade() -> None:
    with op.batch_alter_table("relays", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_relays_fallback_sha256_media"), type_="foreignkey")
        batch_op.drop_column("fallback_sha256")
