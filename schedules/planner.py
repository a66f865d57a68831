"""Materialize each site's plan: the approved airings within the horizon, as wire PlanItems.

Only approved announcements with rendered audio are ever considered: this is the second guard
(after the workflow) that nothing unapproved reaches a speaker. Recurring items are expanded in
the commune's local time (schedules.recurrence), slot items are placed into their slot window
(schedules.slots), and each site's airings are packed so that none overlap (schedules.conflicts).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.interrupted import replay_id
from broadcaster.models import (
    Announcement,
    Media,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    Zone,
    site_zones,
)
from broadcaster.wire.plan import Media as WireMedia
from broadcaster.wire.plan import PlanItem, Stream
from schedules.airable import airable_items
from schedules.conflicts import GAP, Busy, Candidate, Clash, Placed, pack
from schedules.cuts import Cut, cuts_between, replay_items
from schedules.recurrence import DEFAULT_TZ, daily_times, item_occurrences, to_local, to_utc
from schedules.slots import SEARCH_DAYS, SlotSpec, next_window

# Airings that started this long ago stay in the plan, so an agent that reconnects late
# can still report them as skipped instead of never hearing of them.
PAST_GRACE = timedelta(minutes=10)
# Checking a draft before it is rendered: Vietnamese speech runs at about 12 characters a second,
# and the chimes and the repeat add to it.
MS_PER_CHAR_ESTIMATE = 170
NOT_YET_APPROVED = datetime(9999, 1, 1, tzinfo=UTC)
# A relay cut by an emergency resumes afterwards only if this much of it is left.
MIN_RELAY_PIECE = timedelta(seconds=10)
MAX_STREAM_MS = 24 * 3600 * 1000  # what broadcaster.wire.plan.Stream accepts
# Relay plan items belong to no announcement.
RELAY_ANNOUNCEMENT_ID = 0

logger = logging.getLogger(__name__)
# Relays already reported as missing their fallback (materialize runs every few seconds).
_warned_no_fallback: set[int] = set()


@dataclass(frozen=True)
class Airing:
    """One approved airing of one announcement, before it is split per site."""

    item_id: str
    start: datetime  # nominal: the fixed time, or the slot window's start
    announcement: Announcement
    site_ids: frozenset[str]
    window_end: datetime | None = None  # set for slot airings
    version: Media | None = None  # a recorded version in these sites' language (else TTS)

    @property
    def media(self) -> Media | None:
        """What these sites play: their language's recorded version, else the Vietnamese TTS."""
        return self.version if self.version is not None else self.announcement.media

    @property
    def duration(self) -> timedelta:
        media = self.media
        if media is not None:
            return timedelta(milliseconds=media.duration_ms)
        # Not rendered yet (a draft being checked): estimate from the text.
        return timedelta(milliseconds=len(self.announcement.body) * MS_PER_CHAR_ESTIMATE)

    def candidate(self) -> Candidate:
        ann = self.announcement
        return Candidate(
            key=self.item_id,
            nominal=self.start,
            duration=self.duration,
            priority=ann.priority,
            campaign_id=ann.campaign_id,
            approved_at=ann.decided_at or NOT_YET_APPROVED,
            window_end=self.window_end,
            payload=self,
            precedence=1 if ann.precedence is None else ann.precedence,
        )


@dataclass(frozen=True)
class RelayAiring:
    """One relay of a radio stream: busy time on its sites, and a stream item in their plans."""

    relay: Relay
    start: datetime
    end: datetime
    site_ids: frozenset[str]


@dataclass
class SitePlan:
    """One site's packed airings, what clashed, and its relays."""

    site_id: str
    placed: list[Placed] = field(default_factory=list)
    clashes: list[Clash] = field(default_factory=list)
    relays: list[RelayAiring] = field(default_factory=list)


def media_url(public_url: str, sha256: str, ext: str) -> str:
    return f"{public_url.rstrip('/')}/media/{sha256}.{ext}"


def _item_query(start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return candidate_items(start, end).options(
        selectinload(ScheduleItem.announcement)
        .selectinload(Announcement.zones)
        .selectinload(Zone.sites)
    )


def candidate_items(start: datetime, end: datetime) -> Select[ScheduleItem]:
    """The schedule items that may air in [start, end) (approved and rendered), with their
    announcement, media, recorded versions and slot loaded (not their zones)."""
    recurring_or_slot = or_(ScheduleItem.rrule != "", ScheduleItem.slot_id.is_not(None))
    return (
        airable_items()
        .where(
            or_(
                ScheduleItem.start_at.between(start, end),
                recurring_or_slot & (ScheduleItem.start_at < end),
            ),
            or_(ScheduleItem.valid_until.is_(None), ScheduleItem.valid_until >= start),
        )
        .order_by(ScheduleItem.start_at, ScheduleItem.id)
    )


def item_airings(
    item: ScheduleItem,
    start: datetime,
    end: datetime,
    tz: str = DEFAULT_TZ,
    sites: frozenset[str] | None = None,
) -> list[Airing]:
    """The airings of one schedule item whose nominal start lies in [start, end), for
    ``sites`` (default: the sites of the announcement's zones); airings cancelled one by one
    (``ScheduleItem.cancelled``) are left out."""
    ann = item.announcement
    if sites is None:
        sites = frozenset(s.id for z in ann.zones for s in z.sites)
    if item.slot is None:
        return [
            Airing(item.occurrence_id(t), t, ann, sites)
            for t in item_occurrences(item, start, end, tz=tz)
            if not item.cancelled(t)
        ]
    spec = SlotSpec.of(item.slot)
    out: dict[str, Airing] = {}
    # An occurrence asks for the next slot window; look back far enough to catch it.
    for t in item_occurrences(item, start - timedelta(days=SEARCH_DAYS), end, tz=tz):
        w = next_window(spec, t, tz)
        if w is None or not start <= w.start < end:
            continue
        if item.valid_until is not None and w.start > item.valid_until:
            continue
        if item.cancelled(w.start):
            continue
        key = item.occurrence_id(w.start)
        out.setdefault(key, Airing(key, w.start, ann, sites, w.end))
    return list(out.values())


def approved_airings(
    session: Session, start: datetime, end: datetime, *, tz: str = DEFAULT_TZ
) -> list[Airing]:
    """Approved airings whose nominal start lies in [start, end); at the sites where an
    emergency cut one off, its replay instead (``with_replays``)."""
    out: list[Airing] = []
    for item in session.scalars(_item_query(start, end)):
        out.extend(item_airings(item, start, end, tz))
    cuts = cuts_between(session, start, end)
    if cuts:
        out = with_replays(out, cuts, replay_items(session, cuts), start, end)
    if any(a.announcement.versions for a in out):
        out = by_language(out, site_languages(session))
    out.sort(key=lambda a: (a.start, a.item_id))
    return out


def with_replays(
    airings: list[Airing],
    cuts: Iterable[Cut],
    items: dict[int, ScheduleItem],
    start: datetime,
    end: datetime,
) -> list[Airing]:
    """``airings`` without the sites where an emergency cut them, plus the planned replays
    starting in [start, end) (before the split by language)."""
    cuts = list(cuts)
    cut_sites: dict[str, set[str]] = defaultdict(set)
    for c in cuts:
        cut_sites[c.item_id].add(c.site_id)
    out = []
    for a in airings:
        gone = cut_sites.get(a.item_id)
        if gone:
            a = replace(a, site_ids=a.site_ids - gone)
            if not a.site_ids:
                continue
        out.append(a)
    replays: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for c in cuts:
        if c.state == "planned" and c.replay_at is not None and start <= c.replay_at < end:
            replays[(c.item_id, c.replay_at)].add(c.site_id)
    owner = {c.item_id: c.schedule_item_id for c in cuts}
    for (item_id, at), sites in sorted(replays.items()):
        item = items.get(owner[item_id])
        if item is None:  # withdrawn or no longer approved: no replay
            continue
        nominal = next(c.nominal for c in cuts if c.item_id == item_id)
        if item.cancelled(nominal):
            continue
        out.append(Airing(replay_id(item_id), at, item.announcement, frozenset(sites)))
    return out


def site_languages(session: Session) -> dict[str, str]:
    """Each site's audience language: its zones' language when they share one, else "vi"
    (a site serving zones of several languages, like the commune FM station, airs Vietnamese)."""
    langs: dict[str, set[str]] = defaultdict(set)
    for site_id, language in session.execute(
        select(site_zones.c.site_id, Zone.language).join(Zone, Zone.id == site_zones.c.zone_id)
    ):
        langs[site_id].add(language or "vi")
    return {s: next(iter(ls)) if len(ls) == 1 else "vi" for s, ls in langs.items()}


def by_language(airings: Iterable[Airing], languages: dict[str, str]) -> list[Airing]:
    """Split airings of announcements with recorded versions: each group of sites gets the
    version in its language, and the rest the Vietnamese text-to-speech (same airing id)."""
    out: list[Airing] = []
    for a in airings:
        versions = {v.language: v.media for v in a.announcement.versions}
        if not versions:
            out.append(a)
            continue
        groups: dict[str, set[str]] = defaultdict(set)
        for site in a.site_ids:
            lang = languages.get(site, "vi")
            groups[lang if lang in versions else ""].add(site)
        for lang, sites in sorted(groups.items()):
            out.append(replace(a, site_ids=frozenset(sites), version=versions.get(lang)))
    return out


def relay_airings(
    session: Session, start: datetime, end: datetime, *, tz: str = DEFAULT_TZ
) -> list[RelayAiring]:
    """Active relays overlapping [start, end)."""
    relays = session.scalars(
        select(Relay)
        .where(Relay.active.is_(True))
        .options(selectinload(Relay.zones).selectinload(Zone.sites), selectinload(Relay.fallback))
    )
    out = []
    first = to_local(start - timedelta(days=1), tz).date()
    last = to_local(end, tz).date()
    for relay in relays:
        sites = frozenset(s.id for z in relay.zones for s in z.sites)
        for local in daily_times(relay.weekdays, relay.start, first, last):
            s = to_utc(local, tz)
            e = s + timedelta(seconds=relay.duration_s)
            if s < end and e > start:
                out.append(RelayAiring(relay, s, e, sites))
    return out


def pack_sites(
    airings: Iterable[Airing],
    site_ids: Iterable[str],
    relays: Iterable[RelayAiring] = (),
) -> dict[str, SitePlan]:
    """Per-site packed plans; sites with the same airings and relays are packed once."""
    airings, relays = list(airings), list(relays)
    by_site: dict[str, list[int]] = defaultdict(list)
    relays_by_site: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(airings):
        for s in a.site_ids:
            by_site[s].append(i)
    for i, r in enumerate(relays):
        for s in r.site_ids:
            relays_by_site[s].append(i)
    cache: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[list[Placed], list[Clash]]] = {}
    out: dict[str, SitePlan] = {}
    for site_id in site_ids:
        sig = (tuple(by_site.get(site_id, ())), tuple(relays_by_site.get(site_id, ())))
        if sig not in cache:
            busy = [
                Busy(f"relay-{relays[i].relay.id}", relays[i].start, relays[i].end) for i in sig[1]
            ]
            cache[sig] = pack((airings[i].candidate() for i in sig[0]), busy)
        placed, clashes = cache[sig]
        out[site_id] = SitePlan(site_id, placed, clashes, [relays[i] for i in sig[1]])
    return out


def to_plan_items(
    placed: Iterable[Placed],
    public_url: str,
    relays: Iterable[RelayAiring] = (),
    *,
    since: datetime | None = None,
) -> list[PlanItem]:
    """Wire items for packed airings and a site's relays (those starting at or after
    ``since``), sorted by start."""
    placed = list(placed)
    items = relay_items(relays, placed, public_url, since=since)
    for p in placed:
        a: Airing = p.candidate.payload
        media = a.media
        assert media is not None  # approved_airings only returns rendered announcements
        items.append(
            PlanItem(
                id=a.item_id,
                start=p.start,
                title=a.announcement.title,
                announcement_id=a.announcement.id,
                priority=a.announcement.priority,
                media=_wire_media(media, public_url),
            )
        )
    items.sort(key=lambda i: (i.start, i.id))
    return items


def _wire_media(media: Media, public_url: str) -> WireMedia:
    return WireMedia(
        sha256=media.sha256,
        url=media_url(public_url, media.sha256, media.ext),
        size=media.size,
        duration_ms=media.duration_ms,
    )


def relay_pieces(
    relays: Iterable[RelayAiring], placed: Iterable[Placed]
) -> list[tuple[RelayAiring, datetime, datetime]]:
    """The stretches of a site's relays that go on air: (relay, start, end).

    Only emergencies are placed over a relay (the packer keeps every other airing out of it);
    the stream stops ``GAP`` before one and resumes ``GAP`` after it when at least
    ``MIN_RELAY_PIECE`` is left (a relay nothing cuts airs whole, however short). Relays that
    overlap each other (a configuration mistake) do not overlap on air: the earlier one plays,
    the later one joins when it ends; back-to-back relays both air whole.
    """
    taken = sorted((p.start - GAP, p.end + GAP) for p in placed)
    out: list[tuple[RelayAiring, datetime, datetime]] = []
    for r in sorted(relays, key=lambda r: (r.start, r.relay.id)):
        pieces = [(r.start, r.end)]
        for t0, t1 in taken:
            cut = []
            for s, e in pieces:
                if t1 <= s or t0 >= e:
                    cut.append((s, e))
                    continue
                if t0 > s:
                    cut.append((s, t0))
                if t1 < e:
                    cut.append((t1, e))
            pieces = cut
        for s, e in pieces:
            whole = (s, e) == (r.start, r.end)
            if e > s and (whole or e - s >= MIN_RELAY_PIECE):
                out.append((r, s, e))
                taken.append((s, e))  # back-to-back relays stay whole
        taken.sort()
    out.sort(key=lambda x: x[1])
    return out


def relay_items(
    relays: Iterable[RelayAiring],
    placed: Iterable[Placed],
    public_url: str,
    *,
    since: datetime | None = None,
) -> list[PlanItem]:
    """Stream items for a site's relays, with the relay's stored fallback as their media.

    Ids are ``r<relay id>-<start epoch>`` (a stretch resumed after an emergency starts later,
    so it has its own id). A relay without a fallback is left out, with a warning.
    """
    items = []
    for r, start, end in relay_pieces(relays, placed):
        if since is not None and start < since:
            continue
        fallback = r.relay.fallback
        if fallback is None:
            if r.relay.id not in _warned_no_fallback:
                _warned_no_fallback.add(r.relay.id)
                logger.warning(
                    "relay %d (%s) has no fallback media; left out of the plans until it has one",
                    r.relay.id,
                    r.relay.name,
                )
            continue
        items.append(
            PlanItem(
                id=f"r{r.relay.id}-{int(start.timestamp())}",
                start=start,
                title=r.relay.name,
                announcement_id=RELAY_ANNOUNCEMENT_ID,
                priority="normal",
                media=_wire_media(fallback, public_url),
                stream=Stream(
                    url=r.relay.stream_url,
                    # The wire allows a day at most; a relay is never meant to be longer.
                    duration_ms=min(int((end - start).total_seconds() * 1000), MAX_STREAM_MS),
                ),
            )
        )
    return items


def split_by_site(
    airings: Iterable[Airing], site_ids: Iterable[str], public_url: str
) -> dict[str, list[PlanItem]]:
    """Per-site plan items, packed without overlaps; every known site gets an entry."""
    plans = pack_sites(airings, site_ids)
    return {s: to_plan_items(p.placed, public_url) for s, p in plans.items()}


def site_plans(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    tz: str = DEFAULT_TZ,
    site_ids: Iterable[str] | None = None,
) -> dict[str, SitePlan]:
    """Packed plans (with clashes and relays) for the given sites (default: all)."""
    ids = list(site_ids) if site_ids is not None else list(session.scalars(select(Site.id)))
    airings = approved_airings(session, start, end, tz=tz)
    relays = relay_airings(session, start, end, tz=tz)
    return pack_sites(airings, ids, relays)


def materialize(
    session: Session,
    now: datetime,
    horizon: timedelta,
    public_url: str,
    *,
    tz: str = DEFAULT_TZ,
    site_ids: Iterable[str] | None = None,
) -> dict[str, list[PlanItem]]:
    """Every site's plan items (airings and relays) from ``now - PAST_GRACE`` to
    ``now + horizon``."""
    since = now - PAST_GRACE
    plans = site_plans(session, since, now + horizon, tz=tz, site_ids=site_ids)
    return {s: to_plan_items(p.placed, public_url, p.relays, since=since) for s, p in plans.items()}


def slot_specs(session: Session) -> list[SlotSpec]:
    """Every programme slot as a detached spec."""
    return [SlotSpec.of(s) for s in session.scalars(select(Slot).order_by(Slot.start, Slot.id))]
