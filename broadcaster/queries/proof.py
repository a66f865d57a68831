"""Proof of broadcast: for one announcement, what every targeted site did, and the coverage.

Only verified airings count (``Playback.verified``: the airing was in the site's published plan
or in a command sent to it); what a site reported about anything else is listed apart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcaster.interrupted import is_replay
from broadcaster.models import Announcement, Playback, Site, Unit, Zone
from broadcaster.scope import Scope

# Outcomes per site, best first: any full airing makes the site "full".
OUTCOMES = ("full", "partial", "playing", "pending", "none")
# Why a site played nothing.
REASONS = ("offline", "failed", "expired", "rejected", "skipped", "no-report")
STATUS_REASON = {
    "failed": "failed",
    "expired": "expired",
    "rejected": "rejected",
    "skipped": "skipped",
}


@dataclass(frozen=True)
class Airing:
    item_id: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    detail: str

    @property
    def replay(self) -> bool:
        """The replay of an airing an emergency cut off (issue 13)."""
        return is_replay(self.item_id)


@dataclass
class SiteProof:
    site_id: str
    site_name: str
    zones: list[str]
    state: str
    outcome: str = "none"
    reason: str = ""  # one of REASONS when outcome is "none"
    airings: list[Airing] = field(default_factory=list)


@dataclass
class Proof:
    announcement_id: int
    title: str
    category: str
    priority: str
    status: str
    campaign: str
    zones: list[str]
    sites: list[SiteProof]
    generated_at: datetime
    body: str = ""  # the announcement's text
    unit: str = ""  # the unit that owns it (its name), and that unit's parent
    parent_unit: str = ""
    # What sites reported about airings never sent to them (not in their plan, nor in a command
    # to them): shown apart, never counted. (site name, airing)
    unverified: list[tuple[str, Airing]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.sites if s.outcome == outcome)

    @property
    def targeted(self) -> int:
        return len(self.sites)

    @property
    def coverage(self) -> float:
        """Percent of targeted sites that played the announcement fully at least once."""
        return 100.0 * self.count("full") / self.targeted if self.targeted else 0.0

    @property
    def reach(self) -> float:
        """Percent of targeted sites that played it at least in part."""
        n = self.count("full") + self.count("partial")
        return 100.0 * n / self.targeted if self.targeted else 0.0


class NotFound(LookupError):
    """No announcement with that id."""


def _outcome(site: Site, airings: list[Airing], now: datetime) -> tuple[str, str]:
    statuses = {a.status for a in airings}
    if "finished" in statuses:
        return "full", ""
    if "interrupted" in statuses:
        return "partial", ""
    if "started" in statuses:
        return "playing", ""
    if any(a.status == "scheduled" and a.scheduled_at and a.scheduled_at > now for a in airings):
        return "pending", ""
    for a in sorted(airings, key=lambda a: a.scheduled_at or now, reverse=True):
        if a.status in STATUS_REASON:
            return "none", STATUS_REASON[a.status]
    if site.state == "offline":
        return "none", "offline"
    return "none", "no-report"


def proof_of_broadcast(
    session: Session, announcement_id: int, now: datetime, scope: Scope | None = None
) -> Proof:
    """Every targeted site (the announcement's zones → sites, plus any site that reported it)
    of an announcement in ``scope`` (default: every unit); NotFound outside it."""
    scope = scope or Scope.whole()
    ann = session.scalar(
        select(Announcement)
        .where(Announcement.id == announcement_id, scope.announcements())
        .options(
            selectinload(Announcement.zones).selectinload(Zone.sites).selectinload(Site.zones),
            selectinload(Announcement.unit).selectinload(Unit.parent),
        )
    )
    if ann is None:
        raise NotFound(f"announcement {announcement_id} does not exist")
    sites: dict[str, Site] = {
        s.id: s for z in ann.zones for s in z.sites if scope.covers(s.unit_id)
    }
    by_site: dict[str, list[Airing]] = defaultdict(list)
    unverified: list[tuple[str, Airing]] = []
    for pb in session.scalars(
        select(Playback)
        .where(Playback.announcement_id == announcement_id, scope.playbacks())
        .order_by(Playback.scheduled_at, Playback.id)
    ):
        airing = Airing(
            pb.item_id, pb.scheduled_at, pb.started_at, pb.finished_at, pb.status, pb.detail
        )
        if pb.verified:
            by_site[pb.site_id].append(airing)
        else:
            unverified.append((pb.site_id, airing))
    extra = set(by_site) - set(sites)
    if extra:
        for s in session.scalars(
            select(Site).where(Site.id.in_(extra)).options(selectinload(Site.zones))
        ):
            sites[s.id] = s
    out = []
    for site in sorted(sites.values(), key=lambda s: s.name):
        airings = by_site.get(site.id, [])
        outcome, reason = _outcome(site, airings, now)
        out.append(
            SiteProof(
                site_id=site.id,
                site_name=site.name,
                zones=[z.name for z in site.zones],
                state=site.state,
                outcome=outcome,
                reason=reason,
                airings=airings,
            )
        )
    campaign = getattr(ann, "campaign", None)
    return Proof(
        announcement_id=ann.id,
        title=ann.title,
        category=ann.category,
        priority=ann.priority,
        status=ann.status,
        campaign=campaign.name if campaign is not None else "",
        zones=[z.name for z in ann.zones],
        sites=out,
        generated_at=now,
        body=ann.body,
        unit=ann.unit.name,
        parent_unit=ann.unit.parent.name if ann.unit.parent is not None else "",
        unverified=[(_name(session, sites, site_id), a) for site_id, a in unverified],
    )


def _name(session: Session, known: dict[str, Site], site_id: str) -> str:
    site = known.get(site_id) or session.get(Site, site_id)
    return site.name if site is not None else site_id
