"""report marks per statement on PostgreSQL: the roll-up marks of ``playbacks`` (0016) written
once per statement from its transition tables, not by a plpgsql call per row (issue 12)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 03:00:00

Ingest writes a batch's playback rows with one INSERT and one UPDATE; 0016's row triggers ran
``report_mark()`` for each row (a plpgsql call, a setting read and written, the row queued in
the after-trigger queue). These statement triggers see the statement's rows as transition
tables and insert their distinct (unit, UTC day) marks with one INSERT … ON CONFLICT DO
NOTHING: the same marks (a changed row marks its new (unit, day), and its old one when the
change moves it), whatever the statement's size. PostgreSQL allows transition tables only on a
trigger of one event, hence three. SQLite keeps 0016's row triggers (one commune, small
batches). 0016's function stays (unused), so going back only swaps the triggers.
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# 0016's watched columns: a change to any of them changes a day's figures.
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


def _key(row: str) -> str:
    return f"COALESCE({row}.unit_id, 0), {row}.scheduled_at::date"


def _row(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{c}" for c in WATCHED) + ")"


_MARK = (
    "INSERT INTO report_marks (unit_id, day, tx) "
    "SELECT DISTINCT k.unit_id, k.day, txid_current() FROM ({keys}) AS k (unit_id, day) "
    "ON CONFLICT DO NOTHING"
)
_INSERTED = _MARK.format(
    keys=f"SELECT {_key('n')} FROM report_new n WHERE n.scheduled_at IS NOT NULL"
)
_DELETED = _MARK.format(
    keys=f"SELECT {_key('o')} FROM report_old o WHERE o.scheduled_at IS NOT NULL"
)
# An updated row (paired by id; a row whose id changed counts as gone and new) marks its new
# (unit, day) when a watched column changed, and its old one too when the change moved it (when
# the old and new days are the same, the two marks are one).
_CHANGED = f"(o.id IS NULL OR n.id IS NULL OR {_row('o')} IS DISTINCT FROM {_row('n')})"
_UPDATED = _MARK.format(
    keys=(
        f"SELECT {_key('n')} FROM report_new n LEFT JOIN report_old o ON o.id = n.id "
        f"WHERE n.scheduled_at IS NOT NULL AND {_CHANGED} "
        f"UNION ALL SELECT {_key('o')} FROM report_old o LEFT JOIN report_new n ON n.id = o.id "
        f"WHERE o.scheduled_at IS NOT NULL AND {_CHANGED}"
    )
)

FUNCTIONS = {
    "report_mark_inserted": _INSERTED,
    "report_mark_updated": _UPDATED,
    "report_mark_deleted": _DELETED,
}
TRIGGERS = {
    "report_mark_playbacks_inserted": (
        "AFTER INSERT ON playbacks REFERENCING NEW TABLE AS report_new",
        "report_mark_inserted",
    ),
    "report_mark_playbacks_updated": (
        "AFTER UPDATE ON playbacks REFERENCING OLD TABLE AS report_old NEW TABLE AS report_new",
        "report_mark_updated",
    ),
    "report_mark_playbacks_deleted": (
        "AFTER DELETE ON playbacks REFERENCING OLD TABLE AS report_old",
        "report_mark_deleted",
    ),
}

# 0016's row triggers, put back by downgrade (its function report_mark() is kept).
_CHANGED_0016 = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
ROW_TRIGGERS_0016 = {
    "report_mark_playbacks": (
        "CREATE TRIGGER report_mark_playbacks AFTER INSERT OR DELETE ON playbacks "
        "FOR EACH ROW EXECUTE FUNCTION report_mark()"
    ),
    "report_mark_playbacks_update": (
        "CREATE TRIGGER report_mark_playbacks_update AFTER UPDATE ON playbacks "
        f"FOR EACH ROW WHEN ({_CHANGED_0016}) EXECUTE FUNCTION report_mark()"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in ROW_TRIGGERS_0016:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON playbacks")
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$"
        )
    for name, (when, function) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON playbacks")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for ddl in ROW_TRIGGERS_0016.values():
        op.execute(ddl)
