"""cancellations: who withdrew an announcement or cancelled one or the rest of its airings, and
why; an emergency's stop (issue 13)

Revision ID: 0018
Revises: 0023 (written on 0012; follows main's head)
Create Date: 2026-12-05 21:00:00

A cancellation is an input to the plans (one cancelled airing is left out): its rows bump their
announcement's plan mark, as 0014's triggers do for schedule items. ``emergencies`` has no plan
mark triggers, so batch mode may rebuild it on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0018"
down_revision = "0023"
branch_labels = None
depends_on = None

_BUMP = (
    "INSERT INTO plan_marks (announcement_id, version) VALUES ({key}, 1) "
    "ON CONFLICT (announcement_id) DO UPDATE SET version = plan_marks.version + 1"
)
_SQLITE_OPS = (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",)))


def _sqlite_triggers() -> list[tuple[str, str]]:
    out = []
    for op_name, rows in _SQLITE_OPS:
        name = f"plan_mark_cancellations_{op_name.lower()}"
        body = " ".join(_BUMP.format(key=f"{r}.announcement_id") + ";" for r in rows)
        out.append(
            (
                name,
                f"CREATE TRIGGER {name} AFTER {op_name} ON cancellations "
                f"FOR EACH ROW BEGIN {body} END",
            )
        )
    return out


# 0014's function plan_mark() serves these too (row: the named column; statement: row 0).
_PG_TRIGGERS = (
    (
        "plan_mark_cancellations",
        "CREATE TRIGGER plan_mark_cancellations AFTER INSERT OR UPDATE OR DELETE ON cancellations "
        "FOR EACH ROW EXECUTE FUNCTION plan_mark('announcement_id')",
    ),
    (
        "plan_mark_cancellations_truncate",
        "CREATE TRIGGER plan_mark_cancellations_truncate AFTER TRUNCATE ON cancellations "
        "FOR EACH STATEMENT EXECUTE FUNCTION plan_mark()",
    ),
)


def upgrade() -> None:
    op.create_table(
        "cancellations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("schedule_item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("airing_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", broadcaster.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_cancellations_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_item_id"],
            ["schedule_items.id"],
            name=op.f("fk_cancellations_schedule_item_id_schedule_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_cancellations_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancellations")),
    )
    with op.batch_alter_table("cancellations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cancellations_announcement_id"), ["announcement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cancellations_schedule_item_id"), ["schedule_item_id"], unique=False
        )
    with op.batch_alter_table("emergencies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stopped_at", broadcaster.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("stopped_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("stop_command_id", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_emergencies_stopped_by_id_users"), "users", ["stopped_by_id"], ["id"]
        )
    if op.get_bind().dialect.name == "postgresql":
        for _name, ddl in _PG_TRIGGERS:
            op.execute(ddl)
    else:
        for _name, ddl in _sqlite_triggers():
            op.execute(ddl)


def downgrade() -> None:
    with op.batch_alter_table("emergencies", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_emergencies_stopped_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("stop_command_id")
        batch_op.drop_column("stop_reason")
        batch_op.drop_column("stopped_by_id")
        batch_op.drop_column("stopped_at")
    op.drop_table("cancellations")  # its triggers go with it
