"""Airings an emergency cut off: their replay's id, and ingest's record of them (issue 13).

An agent reports an item an emergency cut off as ``interrupted`` with the detail
``interrupted by emergency <the emergency's item id>`` (``broadcaster.agent.runner``). Ingest
records each such airing once per site in ``interrupted_airings`` (INSERT … ON CONFLICT DO
NOTHING on the site and the airing: an event delivered twice, several ingest workers, or the
replay itself cut off again add nothing), in the events' transaction. Only airings the server
sent the site (a verified playback row) of a schedule item of that announcement count.
The scheduler decides the replay (``schedules.replays``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster import ingest_sql as sql
from broadcaster.models import InterruptedAiring, Playback, ScheduleItem
from broadcaster.wire.messages import Event

# How the agent words an item an emergency cut off (broadcaster.agent.runner.Runner.play_now).
CUT_BY_EMERGENCY = "interrupted by emergency "
# A replay's item id: the cut airing's occurrence id and this suffix (a new id, so the agent,
# which plays an id once, plays it).
REPLAY_SUFFIX = "-r"
OCCURRENCE_RE = re.compile(r"^s(\d+)-(\d+)(?:-r)?$")
TABLE = InterruptedAiring.metadata.tables[InterruptedAiring.__tablename__]


def replay_id(item_id: str) -> str:
    """The replay's item id of the airing ``item_id``."""
    return item_id + REPLAY_SUFFIX


def is_replay(item_id: str) -> bool:
    return item_id.endswith(REPLAY_SUFFIX) and OCCURRENCE_RE.match(item_id) is not None


def original_id(item_id: str) -> str:
    """The cut airing's occurrence id, for a replay's id (else ``item_id`` itself)."""
    return item_id.removesuffix(REPLAY_SUFFIX) if is_replay(item_id) else item_id


def parse_occurrence(item_id: str) -> tuple[int, datetime] | None:
    """(schedule item id, nominal start) of an occurrence id ``s<item>-<epoch>`` (or of its
    replay's id); None for anything else (a relay, a live session)."""
    m = OCCURRENCE_RE.match(item_id)
    if m is None:
        return None
    return int(m.group(1)), datetime.fromtimestamp(int(m.group(2)), UTC)


def cut_by_emergency(event: Event) -> str | None:
    """The emergency's item id if ``event`` reports an airing an emergency cut off."""
    if event.kind != "interrupted" or not event.detail.startswith(CUT_BY_EMERGENCY):
        return None
    if event.item_id is None or not event.announcement_id:
        return None
    return event.detail.removeprefix(CUT_BY_EMERGENCY).strip()[:64]


def record_interruptions(session: Session, events: Sequence[Event]) -> int:
    """Record the airings in ``events`` (new, stored ones) that an emergency cut off; returns
    how many rows were new. A replay cut off again names its airing, which has its row."""
    cut = [(e, by) for e in events if (by := cut_by_emergency(e)) is not None]
    if not cut:
        return 0
    conn = session.connection()
    sent = {
        (site, item)
        for site, item in session.execute(
            select(Playback.site_id, Playback.item_id).where(
                sql.keys_in(
                    conn,
                    [Playback.site_id, Playback.item_id],
                    sorted({(e.site, e.item_id or "") for e, _ in cut}),
                ),
                Playback.verified.is_(True),
            )
        )
    }
    parsed = {e.item_id: parse_occurrence(e.item_id or "") for e, _ in cut}
    item_ids = sorted({p[0] for p in parsed.values() if p is not None})
    owners = dict(
        session.execute(
            select(ScheduleItem.id, ScheduleItem.announcement_id).where(
                ScheduleItem.id.in_(item_ids)
            )
        ).all()
    )
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for e, by in cut:
        assert e.item_id is not None
        p = parsed[e.item_id]
        if p is None or (e.site, e.item_id) not in sent or owners.get(p[0]) != e.announcement_id:
            continue
        airing = original_id(e.item_id)
        rows.setdefault(
            (e.site, airing),
            {
                "site_id": e.site,
                "item_id": airing,
                "announcement_id": e.announcement_id,
                "schedule_item_id": p[0],
                "nominal": p[1],
                "interrupted_at": e.at,
                "cut_by": by,
                "state": "pending",
                "replay_at": None,
                "reason": "",
                "decided_at": None,
            },
        )
    ordered = [rows[k] for k in sorted(rows)]
    return len(sql.insert_new(conn, TABLE, ordered, ["site_id", "item_id"], [TABLE.c.id]))
