"""Site health: one row per site from its status heartbeat, its plan and its playback log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import Playback, RejectedMessage, Site, SitePlan, Zone
from broadcaster.scope import Scope

AIRED = ("finished", "interrupted", "started")


@dataclass
class SiteHealth:
    site_id: str
    name: str
    communes: list[str]
    zones: list[str]
    state: str  # online | offline | unknown
    state_at: datetime | None
    last_seen_at: datetime | None
    reported_plan_version: int
    published_plan_version: int | None
    plan_published_at: datetime | None
    last_playback_at: datetime | None
    failures_24h: int
    disk_free_bytes: int | None
    cpu_temp_c: float | None
    clock_offset_ms: int | None
    agent_version: str
    last_error: str
    latitude: float | None
    longitude: float | None
    alerts: list[str] = field(default_factory=list)  # alert kinds, filled by broadcaster.alerts
    rejected_24h: int = 0  # messages from the site that ingest refused in 24 h (issue 10)
    last_rejection: str = ""  # the latest one's reason and detail

    @property
    def plan_behind(self) -> bool:
        """The site runs an older plan than the one last published to it."""
        return (
            self.published_plan_version is not None
            and self.reported_plan_version < self.published_plan_version
        )

    @property
    def level(self) -> str:
        """ok | warning | critical | unknown: the colour on the page and the map."""
        if self.state == "unknown" and not self.last_seen_at:
            return "unknown"
        if "offline" in self.alerts or self.state == "offline":
            return "critical"
        return "warning" if self.alerts else "ok"


def site_health(
    session: Session, now: datetime, site: str = "", scope: Scope | None = None
) -> list[SiteHealth]:
    """Every site in ``scope`` (default: every unit), or one, as of ``now``, sorted by name."""
    scope = scope or Scope.whole()
    last_aired = (
        select(Playback.started_at)
        .where(Playback.site_id == Site.id, Playback.status.in_(AIRED), Playback.verified.is_(True))
        .order_by(Playback.scheduled_at.desc())
        .limit(1)
        .correlate(Site)
        .scalar_subquery()
    )
    failures = dict(
        session.execute(
            select(Playback.site_id, func.count())
            .where(
                Playback.status == "failed",
                Playback.scheduled_at >= now - timedelta(hours=24),
                Playback.verified.is_(True),
            )
            .where(scope.playbacks())
            .group_by(Playback.site_id)
        ).all()
    )
    rejected = _rejections(session, now - timedelta(hours=24))
    q = (
        select(Site, SitePlan.version, SitePlan.published_at, last_aired)
        .outerjoin(SitePlan, SitePlan.site_id == Site.id)
        .options(selectinload(Site.zones).selectinload(Zone.unit))
        .where(scope.sites())
        .order_by(Site.name)
    )
    if site:
        q = q.where(Site.id == site)
    out = []
    for s, version, published_at, last_at in session.execute(q):
        out.append(
            SiteHealth(
                site_id=s.id,
                name=s.name,
                communes=sorted({z.commune for z in s.zones if z.commune}),
                zones=[z.name for z in s.zones],
                state=s.state,
                state_at=s.state_at,
                last_seen_at=s.last_seen_at,
                reported_plan_version=s.reported_plan_version,
                published_plan_version=version,
                plan_published_at=published_at,
                last_playback_at=last_at,
                failures_24h=int(failures.get(s.id, 0)),
                disk_free_bytes=s.disk_free_bytes,
                cpu_temp_c=s.cpu_temp_c,
                clock_offset_ms=s.clock_offset_ms,
                agent_version=s.agent_version,
                last_error=s.last_error,
                latitude=s.latitude,
                longitude=s.longitude,
                rejected_24h=rejected.get(s.id, (0, ""))[0],
                last_rejection=rejected.get(s.id, (0, ""))[1],
            )
        )
    return out


def _rejections(session: Session, since: datetime) -> dict[str, tuple[int, str]]:
    """Per site: how many of its messages ingest refused since ``since``, and the latest."""
    counts = session.execute(
        select(RejectedMessage.site_id, func.count(), func.max(RejectedMessage.id))
        .where(RejectedMessage.received_at >= since)
        .group_by(RejectedMessage.site_id)
    ).all()
    latest = {
        r.id: f"{r.reason}: {r.detail}"[:200]
        for r in session.scalars(
            select(RejectedMessage).where(RejectedMessage.id.in_([c[2] for c in counts]))
        )
    }
    return {site: (int(n), latest.get(last, "")) for site, n, last in counts}
