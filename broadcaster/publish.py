"""Signed, versioned per-site plans, published to agents through a :class:`Publisher`."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from broadcaster.metrics.process import PLAN_PUBLISH_SECONDS
from broadcaster.models import Playback, Site, SitePlan
from broadcaster.publisher import Publisher
from broadcaster.wire.plan import Plan, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

# Republish an unchanged plan this often, so expiry never lapses and a wiped retained
# message is restored.
REFRESH = timedelta(hours=1)
# Site ids per IN (...) list when reading publishing state.
STATE_CHUNK = 500


def _unchanged(sent: str, sent_at: datetime | None, digest: str, now: datetime) -> bool:
    """The site has these items already, and recently enough."""
    return sent == digest and sent_at is not None and timedelta(0) <= now - sent_at < REFRESH


def items_digest(items: Sequence[PlanItem]) -> str:
    data = json.dumps([i.to_dict() for i in items], sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


@dataclass
class PlanPublisher:
    """Signs and publishes a site's plan when it changed (or is due for a refresh)."""

    signer: Signer
    publisher: Publisher
    topics: Topics
    horizon: timedelta

    def due(self, session: Session, digests: Mapping[str, str], now: datetime) -> set[str]:
        """The sites among ``digests`` (site → ``items_digest`` of its plan) that
        ``publish_site`` would send: never published, changed, or due for the refresh. Reads
        the publishing state of many sites in a few queries instead of one per site."""
        ids = list(digests)
        fresh = set()
        for chunk in range(0, len(ids), STATE_CHUNK):
            for site_id, digest, published_at in session.execute(
                select(SitePlan.site_id, SitePlan.digest, SitePlan.published_at).where(
                    SitePlan.site_id.in_(ids[chunk : chunk + STATE_CHUNK])
                )
            ):
                if _unchanged(digest, published_at, digests[site_id], now):
                    fresh.add(site_id)
        return set(ids) - fresh

    def publish_site(
        self,
        session: Session,
        site_id: str,
        items: Sequence[PlanItem],
        now: datetime,
        *,
        digest: str | None = None,
        force: bool = False,
    ) -> int | None:
        """Publish if needed (``force``: even when unchanged, e.g. to a broker that lost its
        retained plans); returns the new version, or None when nothing changed. ``digest``:
        ``items_digest(items)`` when the caller has it already."""
        state = session.get(SitePlan, site_id)
        if digest is None:
            digest = items_digest(items)
        if (
            not force
            and state is not None
            and _unchanged(state.digest, state.published_at, digest, now)
        ):
            return None
        previous = state.version if state else 0
        # Versions only move forward, even if the database is restored from a backup.
        version = max(previous + 1, int(now.timestamp() * 1000))
        plan = Plan(
            site=site_id,
            version=version,
            issued_at=now,
            expires_at=now + self.horizon,
            items=tuple(items),
        )
        signed = self.signer.sign(plan.to_dict())
        with PLAN_PUBLISH_SECONDS.time():
            self.publisher.publish(self.topics.plan(site_id), signed, qos=1, retain=True)
        if state is None:
            state = SitePlan(site_id=site_id)
            session.add(state)
        state.version, state.digest, state.published_at = version, digest, now
        _expect_playbacks(session, site_id, items)
        logger.info("published plan v%d to %s (%d items)", version, site_id, len(items))
        return version


def newest_version(session: Session) -> int:
    """The newest plan version published to any site (0: none yet)."""
    return int(session.scalar(select(func.max(SitePlan.version))) or 0)


def _expect_playbacks(session: Session, site_id: str, items: Sequence[PlanItem]) -> None:
    """Add a 'scheduled' playback-log row for each airing the site has not reported yet; a row
    its events made before this plan reached it becomes verified (the airing is in the plan)."""
    if not items:
        return
    ids = [i.id for i in items]
    rows = session.execute(
        select(Playback.item_id, Playback.verified).where(
            Playback.site_id == site_id, Playback.item_id.in_(ids)
        )
    ).all()
    known = {item_id for item_id, _ in rows}
    if any(not verified for _, verified in rows):
        by_id = {i.id: i for i in items}
        for row in session.scalars(
            select(Playback).where(
                Playback.site_id == site_id,
                Playback.item_id.in_(ids),
                Playback.verified.is_(False),
            )
        ):
            item = by_id[row.item_id]
            row.verified, row.announcement_id = True, item.announcement_id
            row.scheduled_at, row.priority = item.start, item.priority
    unit_id = session.scalar(select(Site.unit_id).where(Site.id == site_id))
    new = [
        {
            "site_id": site_id,
            "item_id": item.id,
            "announcement_id": item.announcement_id,
            "scheduled_at": item.start,
            "status": "scheduled",
            "updated_at": item.start,
            "unit_id": unit_id,  # the unit it will air under (a merge moves it, ingest keeps it)
            "priority": item.priority,
        }
        for item in items
        if item.id not in known
    ]
    if new:  # one executemany: a province's first publish adds ~90 rows for each site
        session.execute(insert(Playback), new)
