"""Which airings the server sent to which site, so that only those count as proof.

An airing is sent to a site by its published plan (``broadcaster.publish`` writes a verified
``scheduled`` playback row for each plan item) or by a play command sent to the site (today the
emergency commands: ``schedules.emergency.publish_emergency`` sends the occurrence of the
emergency's announcement to its zones; the Emergency row is committed before the command goes
out, so the first event back always finds it; and live sessions' commands,
``schedules.live``, the same way with their LiveSession row). Ingest asks :func:`commanded` about an event whose airing
has no playback row yet; anything else a site reports is stored unverified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import (
    Emergency,
    LiveSession,
    ScheduleItem,
    announcement_zones,
    site_zones,
)

Claim = tuple[str, str, int | None]  # (site, item id, announcement id) as an event states them
T = TypeVar("T")
CHUNK = 500


def commanded(session: Session, claims: Iterable[Claim]) -> set[Claim]:
    """The ``claims`` whose item was in a play command sent to that site (through one of its
    zones), for that announcement."""
    wanted = set(claims)
    anns = sorted({a for _, _, a in wanted if a is not None})
    sent: set[Claim] = set()
    for model in (Emergency, LiveSession):
        for chunk in _chunks(anns):
            rows = session.execute(
                select(ScheduleItem, site_zones.c.site_id)
                .join(model, model.announcement_id == ScheduleItem.announcement_id)
                .join(
                    announcement_zones,
                    announcement_zones.c.announcement_id == model.announcement_id,
                )
                .join(site_zones, site_zones.c.zone_id == announcement_zones.c.zone_id)
                .where(model.announcement_id.in_(chunk))
            )
            for item, site in rows:
                sent.add((site, item.occurrence_id(item.start_at), item.announcement_id))
    return wanted & sent


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
