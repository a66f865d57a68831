"""interrupted airings: an airing an emergency cut off at one site, and its replay (issue 13)

Revision ID: 0025
Revises: 0024 (written on 0015; follows main's head 0024_site_keys_version)
Create Date: 2026-12-06 00:00:00

A row is an input to the plans (the cut airing leaves the site's plan, its replay joins it):
its rows bump their announcement's plan mark, as 0018's triggers do for cancellations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_TABLE = "interrupted_airings"
_BUMP = (
    "INSERT INTO plan_marks (announcement_id, version) VALUES ({key}, 1) "
    "ON CONFLICT (announcement_id) DO UPDATE SET version = plan_marks.version + 1"
)
_SQLITE_OPS = (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",)))


def _sqlite_triggers() -> list[tuple[str, str]]:
    out = []
    for op_name, rows in _SQLITE_OPS:
        name = f"plan_mark_{_TABLE}_{op_name.lower()}"
        body = " ".join(_BUMP.format(key=f"{r}.announcement_id") + ";" for r in rows)
        out.append(
            (
                name,
                f"CREATE TRIGGER {name} AFTER {op_name} ON {_TABLE} FOR EACH ROW BEGIN {body} END",
            )
        )
    return out


# 0014's function plan_mark() serves these too (row: the named column; statement: row 0).
_PG_TRIGGERS = (
    (
        f"plan_mark_{_TABLE}",
        f"CREATE TRIGGER plan_mark_{_TABLE} AFTER INSERT OR UPDATE OR DELETE ON {_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION plan_mark('announcement_id')",
    ),
    (
        f"plan_mark_{_TABLE}_truncate",
        f"CREATE TRIGGER plan_mark_{_TABLE}_truncate AFTER TRUNCATE ON {_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION plan_mark()",
    ),
)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("schedule_item_id", sa.Integer(), nullable=False),
        sa.Column("nominal", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("interrupted_at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.Column("cut_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("replay_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("decided_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_interrupted_airings_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_item_id"],
            ["schedule_items.id"],
            name=op.f("fk_interrupted_airings_schedule_item_id_schedule_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_interrupted_airings_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interrupted_airings")),
        sa.UniqueConstraint("site_id", "item_id", name="uq_interrupted_site_item"),
    )
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interrupted_airings_announcement_id"), ["announcement_id"], unique=False
        )
        batch_op.create_index(
            "ix_interrupted_airings_interrupted_at", ["interrupted_at"], unique=False
        )
        batch_op.create_index("ix_interrupted_airings_state", ["state"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for _name, ddl in _PG_TRIGGERS:
            op.execute(ddl)
    else:
        for _name, ddl in _sqlite_triggers():
            op.execute(ddl)


def downgrade() -> None:
    op.drop_table(_TABLE)  # its triggers go with it
