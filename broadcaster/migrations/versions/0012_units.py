"""units: the tree of administrative units; zones, sites, users, announcements, campaigns and
airings belong to one (issue 11)

Revision ID: 0012
Revises: 0014 (written on 0008; follows main's head)
Create Date: 2026-12-05 18:00:00.000000

Existing data move in as the models' defaults would place them (broadcaster.models
``_place_in_units``): one top unit "Tỉnh" (code ``tinh``); one commune unit per distinct
``zones.commune`` name (codes ``xa-1``, ``xa-2``, … in name order), and "Xã" (code ``xa``) for
zones without one; a site goes to its first zone's commune; users and campaigns to the top
unit, so every existing account keeps seeing what it saw; announcements to their author's unit;
playbacks and their events to their site's unit. ``zones.commune`` is then dropped.

Downgrading writes each zone's unit name back into ``zones.commune`` and drops the units.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.models

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None

OWNED = ("users", "zones", "sites", "announcements", "campaigns")  # unit_id NOT NULL
AIRED = ("playbacks", "playback_events")  # unit_id nullable: rows of sites since deleted


def _saved_triggers() -> list[tuple[str, str]]:
    """SQLite's triggers on the tables this revision rebuilds (batch mode copies a table and
    drops the old one, and its triggers with it, e.g. 0014's plan marks): to put back after."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return []  # PostgreSQL alters in place and keeps them
    names = ", ".join(f"'{t}'" for t in (*OWNED, *AIRED))
    rows = conn.execute(
        sa.text(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({names})")  # noqa: S608
    )
    return [(str(name), str(sql)) for name, sql in rows]


def _restore(triggers: list[tuple[str, str]]) -> None:
    for name, sql in triggers:
        op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        op.execute(sql)


def upgrade() -> None:
    triggers = _saved_triggers()
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("merged_at", broadcaster.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["units.id"], name=op.f("fk_units_merged_into_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["units.id"], name=op.f("fk_units_parent_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_parent_id"), ["parent_id"], unique=False)

    for table in (*OWNED, *AIRED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))

    _place_existing_rows()

    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("unit_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{table}_unit_id"), ["unit_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_unit_id_units"), "units", ["unit_id"], ["id"]
            )
            if table == "zones":
                batch_op.drop_column("commune")
    for table in AIRED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_unit_id_units"), "units", ["unit_id"], ["id"]
            )
            if table == "playbacks":
                batch_op.create_index(
                    "ix_playbacks_unit_scheduled", ["unit_id", "scheduled_at"], unique=False
                )
    _restore(triggers)


def _place_existing_rows() -> None:
    conn = op.get_bind()
    scalar = conn.execute
    if not any(scalar(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in OWNED):  # noqa: S608
        return
    units = sa.table(
        "units",
        sa.column("id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
    )

    def add(kind: str, code: str, name: str, parent: int | None) -> int:
        conn.execute(units.insert().values(kind=kind, code=code, name=name, parent_id=parent))
        found = scalar(sa.text("SELECT id FROM units WHERE code = :c"), {"c": code}).scalar()
        assert found is not None
        return int(found)

    root = add("province", "tinh", "Tỉnh", None)
    names = [
        r[0]
        for r in scalar(sa.text("SELECT DISTINCT commune FROM zones WHERE commune <> ''"))
        if r[0]
    ]
    for i, name in enumerate(sorted(names), start=1):
        unit = add("commune", f"xa-{i}", name, root)
        scalar(
            sa.text("UPDATE zones SET unit_id = :u WHERE commune = :n"), {"u": unit, "n": name}
        )
    unnamed = scalar(sa.text("SELECT count(*) FROM zones WHERE unit_id IS NULL")).scalar()
    sites_alone = scalar(
        sa.text(
            "SELECT count(*) FROM sites WHERE id NOT IN (SELECT site_id FROM site_zones)"
        )
    ).scalar()
    if unnamed or sites_alone or not names:
        default = add("commune", "xa", "Xã", root)
        scalar(sa.text("UPDATE zones SET unit_id = :u WHERE unit_id IS NULL"), {"u": default})
    else:
        default = None
    scalar(
        sa.text(
            "UPDATE sites SET unit_id = (SELECT z.unit_id FROM site_zones sz"
            " JOIN zones z ON z.id = sz.zone_id WHERE sz.site_id = sites.id"
            " ORDER BY sz.zone_id LIMIT 1)"
        )
    )
    if default is not None:
        scalar(sa.text("UPDATE sites SET unit_id = :u WHERE unit_id IS NULL"), {"u": default})
    for table in ("users", "campaigns"):
        scalar(sa.text(f"UPDATE {table} SET unit_id = :u"), {"u": root})  # noqa: S608
    scalar(
        sa.text(
            "UPDATE announcements SET unit_id ="
            " (SELECT u.unit_id FROM users u WHERE u.id = announcements.author_id)"
        )
    )
    for table in AIRED:
        scalar(
            sa.text(
                f"UPDATE {table} SET unit_id ="  # noqa: S608
                f" (SELECT s.unit_id FROM sites s WHERE s.id = {table}.site_id)"
            )
        )


def downgrade() -> None:
    triggers = _saved_triggers()
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commune", sa.String(length=128), nullable=False, server_default="")
        )
    op.execute(
        sa.text(
            "UPDATE zones SET commune = (SELECT u.name FROM units u WHERE u.id = zones.unit_id)"
        )
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.alter_column("commune", server_default=None)
    for table in AIRED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "playbacks":
                batch_op.drop_index("ix_playbacks_unit_scheduled")
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_unit_id_units"), type_="foreignkey")
            batch_op.drop_column("unit_id")
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_unit_id_units"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_unit_id"))
            batch_op.drop_column("unit_id")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_parent_id"))
    op.drop_table("units")
    _restore(triggers)
