"""plan marks: a change counter per announcement (0: every other planner input), bumped by
database triggers, so the scheduler re-materializes only the plans an edit touches (issue 12)

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-05 18:30:00

Triggers, not ORM events: every writer (the web, the CLI, bulk provisioning with Core inserts,
psql) bumps the counter in its own transaction. Announcements and the rows that hang off one
(schedule items, target zones, recorded versions) bump that announcement's row; slots, relays,
zones, site memberships, sites added or removed (not their heartbeats) and media bump row 0,
which makes the planner start over (schedules/plan_cache.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None

# table -> the column naming the announcement a row belongs to
PER_ANNOUNCEMENT = {
    "announcements": "id",
    "schedule_items": "announcement_id",
    "announcement_zones": "announcement_id",
    "announcement_versions": "announcement_id",
}
# table -> the operations that change a plan (a site's heartbeat updates other columns)
EVERYTHING = {
    "slots": ("INSERT", "UPDATE", "DELETE"),
    "relays": ("INSERT", "UPDATE", "DELETE"),
    "relay_zones": ("INSERT", "UPDATE", "DELETE"),
    "zones": ("INSERT", "UPDATE", "DELETE"),
    "site_zones": ("INSERT", "UPDATE", "DELETE"),
    "sites": ("INSERT", "UPDATE OF id", "DELETE"),
    "media": ("UPDATE",),
}

_BUMP = (
    "INSERT INTO plan_marks (announcement_id, version) VALUES ({key}, 1) "
    "ON CONFLICT (announcement_id) DO UPDATE SET version = plan_marks.version + 1"
)

_PG_FUNCTION = f"""
CREATE FUNCTION plan_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' OR TG_NARGS = 0 THEN
        {_BUMP.format(key="0")};
        RETURN NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_BUMP.format(key="COALESCE((to_jsonb(NEW) ->> TG_ARGV[0])::bigint, 0)")};
    END IF;
    IF TG_OP <> 'INSERT' THEN
        {_BUMP.format(key="COALESCE((to_jsonb(OLD) ->> TG_ARGV[0])::bigint, 0)")};
    END IF;
    RETURN NULL;
END
$$
"""


def _sqlite_triggers() -> list[tuple[str, str]]:
    out = []
    for table, column in PER_ANNOUNCEMENT.items():
        for op_name, rows in (
            ("INSERT", ("NEW",)),
            ("UPDATE", ("NEW", "OLD")),
            ("DELETE", ("OLD",)),
        ):
            name = f"plan_mark_{table}_{op_name.lower()}"
            body = " ".join(_BUMP.format(key=f"{r}.{column}") + ";" for r in rows)
            out.append(
                (name, f"CREATE TRIGGER {name} AFTER {op_name} ON {table} FOR EACH ROW BEGIN {body} END")
            )
    for table, ops in EVERYTHING.items():
        for op_name in ops:
            name = f"plan_mark_{table}_{op_name.split()[0].lower()}"
            body = _BUMP.format(key="0") + ";"
            out.append(
                (name, f"CREATE TRIGGER {name} AFTER {op_name} ON {table} FOR EACH ROW BEGIN {body} END")
            )
    return out


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(name, table, CREATE TRIGGER) on PostgreSQL: row triggers for one announcement's rows,
    statement triggers (and TRUNCATE) for everything else."""
    out = []
    for table, column in PER_ANNOUNCEMENT.items():
        name = f"plan_mark_{table}"
        out.append(
            (
                name,
                table,
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION plan_mark('{column}')",
            )
        )
        out.append(
            (
                f"{name}_truncate",
                table,
                f"CREATE TRIGGER {name}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION plan_mark()",
            )
        )
    for table, ops in EVERYTHING.items():
        name = f"plan_mark_{table}"
        events = " OR ".join(ops) + " OR TRUNCATE"
        out.append(
            (
                name,
                table,
                f"CREATE TRIGGER {name} AFTER {events} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION plan_mark()",
            )
        )
    return out


def upgrade() -> None:
    op.create_table(
        "plan_marks",
        sa.Column("announcement_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("announcement_id", name=op.f("pk_plan_marks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for _name, _table, ddl in _pg_triggers():
            op.execute(ddl)
    else:
        for _name, ddl in _sqlite_triggers():
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _ddl in _pg_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS plan_mark()")
    else:
        for name, _ddl in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("plan_marks")
