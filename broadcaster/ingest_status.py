"""Agents' statuses (heartbeats and last wills) into the sites' rows, a batch at a time.

Each status is applied to its site's row in the order it arrived, exactly as one at a time
would: a newer status sets the state and, when online, the health fields; an older "offline"
after "online" is the agent's last will (written when it connected, so older than its
heartbeats) and changes the state only; any other older status is stale. A batch loads its
sites' rows once (locked, in id order, like an events batch), folds every status into them in
memory and writes the changed rows with one executemany: 5,000 sites' heartbeats a minute cost a
few transactions a second instead of one each (bench/RESULTS.md, issue 12).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from broadcaster import ingest_sql as sql
from broadcaster.models import Site
from broadcaster.wire.messages import Status

logger = logging.getLogger(__name__)

SITES = Site.metadata.tables[Site.__tablename__]
FIELDS = (
    "state",
    "state_at",
    "reported_plan_version",
    "agent_version",
    "keys_version",
    "last_seen_at",
    "last_error",
    "disk_free_bytes",
    "cpu_temp_c",
    "clock_offset_ms",
)
UPDATE_SITE = (
    update(SITES)
    .where(SITES.c.id == bindparam("b_id"))
    .values({name: bindparam(name) for name in FIELDS})
)


def health_fields(status: Status) -> dict[str, Any]:
    """The heartbeat's health fields (issue #4's Status) as Site columns; absent ones left out,
    except ``last_error``, which an online heartbeat without one clears."""
    out: dict[str, Any] = {"last_error": status.last_error}
    if status.disk_free_bytes is not None:
        out["disk_free_bytes"] = status.disk_free_bytes
    if status.cpu_temp_c is not None:
        out["cpu_temp_c"] = status.cpu_temp_c
    if status.clock_offset_ms is not None:
        out["clock_offset_ms"] = round(status.clock_offset_ms)
    if status.keys_version is not None:
        out["keys_version"] = status.keys_version
    return out


def apply_status(row: dict[str, Any], status: Status, now: datetime) -> bool:
    """Apply one status to a site's row (a dict of ``FIELDS``); whether it changed anything."""
    if row["state_at"] and status.at < row["state_at"]:
        # An older "offline" after "online" is the agent's last will: the broker sends it when
        # the connection drops, but the agent wrote it (and its time) when it connected. It
        # changes the state only; the next heartbeat is newer again.
        if status.state == "offline" and row["state"] == "online":
            row["state"] = "offline"
            return True
        return False  # any other older status is stale
    row["state"], row["state_at"] = status.state, status.at
    row["reported_plan_version"] = status.plan_version
    row["agent_version"] = status.agent_version
    if status.state == "online":
        row["last_seen_at"] = max(now, row["last_seen_at"] or status.at)
        row.update(health_fields(status))
    return True


def store_statuses(session: Session, statuses: list[Status], now: datetime) -> int:
    """Apply ``statuses`` (in arrival order) in the session's transaction; the number of site
    rows written. A status from a site with no row is logged and ignored."""
    sites = sorted({s.site for s in statuses})
    rows: dict[str, dict[str, Any]] = {}
    columns = [SITES.c.id, *(SITES.c[name] for name in FIELDS)]
    conn = session.connection()
    for chunk in sql.chunks(conn, sites):
        for r in session.execute(
            select(*columns)
            .where(sql.keys_in(conn, [SITES.c.id], chunk))
            .order_by(SITES.c.id)
            .with_for_update()
        ):
            rows[r.id] = dict(r._mapping)
    changed: set[str] = set()
    for status in statuses:
        row = rows.get(status.site)
        if row is None:
            logger.warning("status from unknown site %r ignored", status.site)
            continue
        if apply_status(row, status, now):
            changed.add(status.site)
    if changed:
        session.connection().execute(
            UPDATE_SITE,
            [{"b_id": site, **{n: rows[site][n] for n in FIELDS}} for site in sorted(changed)],
        )
    return len(changed)
