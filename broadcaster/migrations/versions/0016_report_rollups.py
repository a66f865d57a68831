"""report roll-ups: a day's airings per (unit, site) and per (unit, announcement), and the
marks that say which (unit, day) changed since they were last refreshed (issue 12)

Revision ID: 0016
Revises: 0019 (written on 0012; follows main's head)
Create Date: 2026-12-05 21:15:00

Triggers on ``playbacks`` write the marks, so every writer (ingest, plan publishing, a merge,
psql) is seen in its own transaction; ``broadcaster.rollups`` turns marks into roll-up rows.
On PostgreSQL a mark carries its transaction id, so two ingest workers never wait on each
other's mark, and a refresh removes only marks already committed. Existing playbacks are
marked here: the first refresh (the scheduler's job, or the first report) builds their days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0019"
branch_labels = None
depends_on = None

# Changes to these columns change a day's figures (a heartbeat never touches playbacks).
WATCHED = (
    "status",
    "started_at",
    "finished_at",
    "scheduled_at",
    "unit_id",
    "verified",
    "announcement_id",
    "site_id",
    "item_id",
)

# A transaction marks each (unit, day) once: the keys it marked are kept in a setting local to
# the transaction (";unit:day;" each), so a batch of ingest's updates inserts a mark per commune
# and day, not per row. A savepoint rolled back takes its setting and its marks back together;
# a refresh (which takes the marks away) empties it.
_PG_FUNCTION = """
CREATE FUNCTION report_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seen text := COALESCE(current_setting('broadcaster.report_marks', true), '');
    unit bigint;
    day date;
    key text;
BEGIN
    FOR i IN 1..2 LOOP
        IF i = 1 AND TG_OP <> 'DELETE' AND NEW.scheduled_at IS NOT NULL THEN
            unit := COALESCE(NEW.unit_id, 0);
            day := NEW.scheduled_at::date;
        -- An update that keeps the row's unit and day needs no second mark (ingest's updates).
        ELSIF i = 2 AND OLD.scheduled_at IS NOT NULL AND (TG_OP = 'DELETE' OR (
            TG_OP = 'UPDATE' AND (
                NEW.scheduled_at IS NULL
                OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
                OR OLD.scheduled_at::date <> NEW.scheduled_at::date
            ))) THEN
            unit := COALESCE(OLD.unit_id, 0);
            day := OLD.scheduled_at::date;
        ELSE
            CONTINUE;
        END IF;
        key := ';' || unit || ':' || day || ';';
        IF position(key IN seen) = 0 THEN
            INSERT INTO report_marks (unit_id, day, tx)
            VALUES (unit, day, txid_current()) ON CONFLICT DO NOTHING;
            IF length(seen) < 8000 THEN  -- a bulk update of many days: no list, no O(n^2)
                seen := seen || key;
                PERFORM set_config('broadcaster.report_marks', seen, true);
            END IF;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$
"""


def _changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in WATCHED)


def _sqlite_mark(row: str) -> str:
    return (
        "INSERT OR IGNORE INTO report_marks (unit_id, day, tx) "
        f"SELECT COALESCE({row}.unit_id, 0), date({row}.scheduled_at), 0 "
        f"WHERE {row}.scheduled_at IS NOT NULL;"
    )


SQLITE_TRIGGERS = {
    "report_mark_playbacks_insert": (
        "CREATE TRIGGER report_mark_playbacks_insert AFTER INSERT ON playbacks "
        f"FOR EACH ROW BEGIN {_sqlite_mark('NEW')} END"
    ),
    "report_mark_playbacks_update": (
        "CREATE TRIGGER report_mark_playbacks_update AFTER UPDATE ON playbacks "
        f"FOR EACH ROW WHEN {_changed('IS NOT')} BEGIN {_sqlite_mark('NEW')} END"
    ),
    # The old (unit, day) too when the update moves the row to another (a merge, a fix).
    "report_mark_playbacks_move": (
        "CREATE TRIGGER report_mark_playbacks_move AFTER UPDATE ON playbacks "
        "FOR EACH ROW WHEN OLD.unit_id IS NOT NEW.unit_id "
        "OR date(OLD.scheduled_at) IS NOT date(NEW.scheduled_at) "
        f"BEGIN {_sqlite_mark('OLD')} END"
    ),
    "report_mark_playbacks_delete": (
        "CREATE TRIGGER report_mark_playbacks_delete AFTER DELETE ON playbacks "
        f"FOR EACH ROW BEGIN {_sqlite_mark('OLD')} END"
    ),
}
PG_TRIGGERS = {
    "report_mark_playbacks": (
        "CREATE TRIGGER report_mark_playbacks AFTER INSERT OR DELETE ON playbacks "
        "FOR EACH ROW EXECUTE FUNCTION report_mark()"
    ),
    "report_mark_playbacks_update": (
        "CREATE TRIGGER report_mark_playbacks_update AFTER UPDATE ON playbacks "
        f"FOR EACH ROW WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION report_mark()"
    ),
}


def _measures() -> list[sa.Column[int] | sa.Column[float]]:
    return [
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("interrupted", sa.Integer(), nullable=False),
        sa.Column("aired_s", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "report_site_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("day", "unit_id", "site_id", name=op.f("pk_report_site_days")),
    )
    op.create_index("ix_report_site_days_unit_day", "report_site_days", ["unit_id", "day"])
    op.create_table(
        "report_announcement_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("announcement_id", sa.BigInteger(), autoincrement=False, nullable=False),
        *_measures(),
        sa.Column("items_planned", sa.Integer(), nullable=False),
        sa.Column("items_finished", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "unit_id", "announcement_id", name=op.f("pk_report_announcement_days")
        ),
    )
    op.create_index(
        "ix_report_announcement_days_unit_day", "report_announcement_days", ["unit_id", "day"]
    )
    op.create_index(
        "ix_report_announcement_days_announcement_day",
        "report_announcement_days",
        ["announcement_id", "day"],
    )
    op.create_table(
        "report_marks",
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day", "tx", name=op.f("pk_report_marks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for ddl in PG_TRIGGERS.values():
            op.execute(ddl)
        day = "scheduled_at::date"
    else:
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)
        day = "date(scheduled_at)"
    seed = (
        "INSERT INTO report_marks (unit_id, day, tx) "  # noqa: S608 - no outside input
        f"SELECT DISTINCT COALESCE(unit_id, 0), {day}, 0 FROM playbacks "
        "WHERE scheduled_at IS NOT NULL"
    )
    op.execute(seed)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON playbacks")
        op.execute("DROP FUNCTION IF EXISTS report_mark()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("report_marks")
    op.drop_index("ix_report_announcement_days_announcement_day", "report_announcement_days")
    op.drop_index("ix_report_announcement_days_unit_day", "report_announcement_days")
    op.drop_table("report_announcement_days")
    op.drop_index("ix_report_site_days_unit_day", "report_site_days")
    op.drop_table("report_site_days")
