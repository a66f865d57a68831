"""Incremental materialization: the scheduler's plans, kept between ticks and redone only
where an edit lands.

``PlanCache.materialize`` returns exactly what ``schedules.planner.materialize`` returns for
the same database and clock (tests/schedules/test_plan_cache.py compares the two on random
programmes), but:

- **Audiences.** The airings of one announcement reach one set of sites (per recorded
  language). Sites in the same audiences, with the same relays, form a *class*: it is packed
  once and its sites share one list of plan items (and the ``PlanItem`` objects in it). A
  province of 5,000 sites has a few hundred classes.
- **What is kept.** Airings are expanded once over a window reaching ``EXPANSION_SLACK`` past
  the horizon; each tick picks the class's airings in ``[now - PAST_GRACE, now + horizon)`` by
  bisection, and packs again only when that set (or its relays) differs from the last tick's.
- **What an edit redoes.** Database triggers count changes per announcement in
  ``plan_marks`` (migration 0014). An announcement whose count moved is read again, its
  audiences rebuilt, and only the classes of the sites it reaches (before or after the edit)
  are packed again. Row 0 counts every other input (slots, relays, zones, sites and their
  zones, media): when it moves, or the window leaves the expanded one, everything is rebuilt.

Everything is also read again every ``REBUILD_EVERY`` of the clock (a safety net). One instance
serves one process (the scheduler); ``materialize`` holds a lock. The returned lists are
shared between sites: callers must not change them.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.models import (
    PlanMark,
    Relay,
    ScheduleItem,
    Site,
    Zone,
    announcement_zones,
    relay_zones,
    site_zones,
)
from broadcaster.wire.plan import PlanItem
from schedules.conflicts import Busy, Candidate, Placed, pack
from schedules.cuts import Cut, cuts_between, replay_items
from schedules.planner import (
    PAST_GRACE,
    Airing,
    RelayAiring,
    by_language,
    candidate_items,
    item_airings,
    relay_items,
    relay_pieces,
    to_plan_items,
    with_replays,
)
from schedules.recurrence import DEFAULT_TZ, daily_times, to_local, to_utc

# Airings are expanded this far past the horizon; the window slides over them until its end
# passes, then everything is read and expanded again.
EXPANSION_SLACK = timedelta(hours=12)
# Everything is read again this often all the same: a safety net, should a change ever reach
# the database without its trigger (a restored dump, triggers disabled by hand).
REBUILD_EVERY = timedelta(hours=1)
# Ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 500

# (announcement id, smallest site id of the audience): audiences of one announcement are
# disjoint, except where an emergency cut an airing (its replay reaches the cut sites only):
# then "<n>:" is put before the site id, so keys stay unique.
GroupKey = tuple[int, str]
ClassKey = tuple[tuple[GroupKey, ...], tuple[int, ...]]  # (audiences, relay ids)


@dataclass
class _Audience:
    """The airings of one announcement that reach one set of sites (one language's version)."""

    key: GroupKey
    sites: frozenset[str]
    airings: list[Airing]
    candidates: list[Candidate] = field(default_factory=list)  # the airings', made once

    def __post_init__(self) -> None:
        self.candidates = [a.candidate() for a in self.airings]


@dataclass
class _Class:
    """Sites with the same audiences and relays: one packing and one list of plan items."""

    key: ClassKey
    sites: set[str] = field(default_factory=set)
    candidates: list[Candidate] = field(default_factory=list)  # its airings, by (start, id)
    starts: list[datetime] = field(default_factory=list)
    relays: list[tuple[RelayAiring, date]] = field(default_factory=list)  # (airing, local day)
    packed: tuple[object, list[Placed], list[RelayAiring], list[datetime]] | None = None
    items: tuple[object, list[PlanItem]] | None = None


class PlanCache:
    """Every site's plan items, materialized incrementally (see the module's docstring)."""

    def __init__(
        self, public_url: str, *, tz: str = DEFAULT_TZ, rebuild_every: timedelta = REBUILD_EVERY
    ) -> None:
        self.public_url = public_url
        self.tz = tz
        self.rebuild_every = rebuild_every
        self._lock = threading.Lock()
        self.rebuilds = 0  # full rebuilds so far (for logs and tests)
        self.updates = 0  # announcements read again after an edit
        self._window: tuple[datetime, datetime] | None = None
        self._marks_sum: int | None = None
        self._marks: dict[int, int] = {}
        self._sites: list[str] = []
        self._zone_sites: dict[str, list[str]] = {}
        self._languages: dict[str, str] = {}
        self._audiences: dict[int, list[_Audience]] = {}
        self._site_audiences: dict[str, set[GroupKey]] = defaultdict(set)
        self._audience_by_key: dict[GroupKey, _Audience] = {}
        self._site_relays: dict[str, set[int]] = defaultdict(set)
        self._relays: dict[int, list[tuple[RelayAiring, date]]] = {}
        self._site_class: dict[str, ClassKey] = {}
        self._classes: dict[ClassKey, _Class] = {}
        self._items: dict[tuple[int, datetime], tuple[Airing, PlanItem]] = {}

    # --- the tick ------------------------------------------------------------------------

    def materialize(
        self,
        session: Session,
        now: datetime,
        horizon: timedelta,
        *,
        site_ids: Iterable[str] | None = None,
    ) -> dict[str, list[PlanItem]]:
        """The given sites' (default: all) plan items from ``now - PAST_GRACE`` to
        ``now + horizon``, as ``schedules.planner.materialize`` makes them."""
        with self._lock:
            try:
                return self._materialize(session, now - PAST_GRACE, now + horizon, site_ids)
            except BaseException:
                self._window = None  # half-updated: start over on the next call
                raise

    def _materialize(
        self, session: Session, since: datetime, end: datetime, site_ids: Iterable[str] | None
    ) -> dict[str, list[PlanItem]]:
        self.refresh(session, since, end)
        first_relay_day = to_local(since - timedelta(days=1), self.tz).date()
        out: dict[str, list[PlanItem]] = {}
        if site_ids is None:  # every site: class by class
            for cls in self._classes.values():
                out.update(dict.fromkeys(cls.sites, self._plan(cls, since, end, first_relay_day)))
            return out
        lists: dict[ClassKey, list[PlanItem]] = {}
        for site in site_ids:
            key = self._site_class.get(site)
            if key is None:
                out[site] = []
                continue
            if key not in lists:
                lists[key] = self._plan(self._classes[key], since, end, first_relay_day)
            out[site] = lists[key]
        return out

    def refresh(self, session: Session, since: datetime, end: datetime) -> None:
        """Bring the cache up to date with the database for the window [since, end)."""
        total = session.scalar(select(func.coalesce(func.sum(PlanMark.version), 0)))
        window = self._window
        if (
            window is None
            or since < window[0]
            or end > window[1]
            or since - window[0] >= self.rebuild_every
        ):
            self._rebuild(session, since, end + EXPANSION_SLACK)
            return
        if total == self._marks_sum:
            return
        marks = self._read_marks(session)
        if marks.get(0) != self._marks.get(0):
            self._rebuild(session, *window)
            return
        changed = {
            a for a in marks.keys() | self._marks.keys() if marks.get(a) != self._marks.get(a)
        }
        self._marks, self._marks_sum = marks, sum(marks.values())
        self._update(session, changed)

    # --- reading ---------------------------------------------------------------------------

    def _read_marks(self, session: Session) -> dict[int, int]:
        return {
            a: v for a, v in session.execute(select(PlanMark.announcement_id, PlanMark.version))
        }

    def _rebuild(self, session: Session, lo: datetime, hi: datetime) -> None:
        """Read and expand everything over [lo, hi)."""
        self.rebuilds += 1
        self._marks = self._read_marks(session)  # before the data: a later edit is seen again
        self._marks_sum = sum(self._marks.values())
        self._window = (lo, hi)
        self._sites = list(session.scalars(select(Site.id)))
        zone_sites: dict[str, list[str]] = defaultdict(list)
        langs: dict[str, set[str]] = defaultdict(set)
        for site_id, zone_id, language in session.execute(
            select(site_zones.c.site_id, site_zones.c.zone_id, Zone.language).join(
                Zone, Zone.id == site_zones.c.zone_id
            )
        ):
            zone_sites[zone_id].append(site_id)
            langs[site_id].add(language or "vi")
        self._zone_sites = dict(zone_sites)
        # as schedules.planner.site_languages
        self._languages = {s: next(iter(ls)) if len(ls) == 1 else "vi" for s, ls in langs.items()}
        self._items.clear()
        self._audiences.clear()
        self._audience_by_key.clear()
        self._site_audiences.clear()
        self._site_class.clear()
        self._classes.clear()
        self._read_relays(session, lo, hi)
        items = list(session.scalars(candidate_items(lo, hi)))
        cuts = cuts_between(session, lo, hi)
        self._add_audiences(self._audiences_of(session, items, cuts))
        self._reclass(set(self._sites) | set(self._site_audiences) | set(self._site_relays))

    def _read_relays(self, session: Session, lo: datetime, hi: datetime) -> None:
        """Active relays' airings over [lo, hi), as schedules.planner.relay_airings makes them."""
        relays = list(
            session.scalars(
                select(Relay).where(Relay.active.is_(True)).options(selectinload(Relay.fallback))
            )
        )
        zones: dict[int, set[str]] = defaultdict(set)
        for relay_id, zone_id in session.execute(
            select(relay_zones.c.relay_id, relay_zones.c.zone_id)
        ):
            zones[relay_id].add(zone_id)
        self._relays.clear()
        self._site_relays.clear()
        first = to_local(lo - timedelta(days=1), self.tz).date()
        last = to_local(hi, self.tz).date()
        for relay in relays:
            sites = frozenset(
                s for z in zones.get(relay.id, ()) for s in self._zone_sites.get(z, ())
            )
            airings = []
            for local in daily_times(relay.weekdays, relay.start, first, last):
                s = to_utc(local, self.tz)
                e = s + timedelta(seconds=relay.duration_s)
                if s < hi and e > lo:
                    airings.append((RelayAiring(relay, s, e, sites), local.date()))
            self._relays[relay.id] = airings
            for site in sites:
                self._site_relays[site].add(relay.id)

    def _audiences_of(
        self, session: Session, items: list[ScheduleItem], cuts: list[Cut]
    ) -> dict[int, list[_Audience]]:
        """Each announcement's audiences, with their airings over the expanded window (and
        the replays of airings an emergency cut, ``cuts``, instead of them)."""
        assert self._window is not None
        lo, hi = self._window
        ann_ids = sorted({i.announcement_id for i in items} | {c.announcement_id for c in cuts})
        zones: dict[int, set[str]] = defaultdict(set)
        for chunk in range(0, len(ann_ids), IN_CHUNK):
            for ann_id, zone_id in session.execute(
                select(announcement_zones.c.announcement_id, announcement_zones.c.zone_id).where(
                    announcement_zones.c.announcement_id.in_(ann_ids[chunk : chunk + IN_CHUNK])
                )
            ):
                zones[ann_id].add(zone_id)
        sites = {
            a: frozenset(s for z in zs for s in self._zone_sites.get(z, ()))
            for a, zs in zones.items()
        }
        airings: dict[int, list[Airing]] = defaultdict(list)
        for item in items:
            reach = sites.get(item.announcement_id, frozenset())
            if reach:
                airings[item.announcement_id].extend(item_airings(item, lo, hi, self.tz, reach))
        if cuts:
            by_ann: dict[int, list[Cut]] = defaultdict(list)
            for c in cuts:
                by_ann[c.announcement_id].append(c)
            replayed = replay_items(session, cuts)
            for ann_id, mine in by_ann.items():
                airings[ann_id] = with_replays(airings.get(ann_id, []), mine, replayed, lo, hi)
        out: dict[int, list[_Audience]] = {}
        for ann_id, found in airings.items():
            groups: dict[frozenset[str], list[Airing]] = defaultdict(list)
            for a in by_language(found, self._languages):
                if a.site_ids:
                    groups[a.site_ids].append(a)
            overlap = sum(len(r) for r in groups) > len(frozenset().union(*groups))
            out[ann_id] = [
                _Audience(
                    (ann_id, f"{n}:{min(reach)}" if overlap else min(reach)),
                    reach,
                    sorted(g, key=lambda a: (a.start, a.item_id)),
                )
                for n, (reach, g) in enumerate(groups.items())
            ]
        return out

    # --- audiences and classes -------------------------------------------------------------

    def _add_audiences(self, audiences: dict[int, list[_Audience]]) -> set[str]:
        """Record new audiences; returns the sites they reach."""
        touched: set[str] = set()
        for ann_id, found in audiences.items():
            self._audiences[ann_id] = found
            for aud in found:
                self._audience_by_key[aud.key] = aud
                touched |= aud.sites
                for site in aud.sites:
                    self._site_audiences[site].add(aud.key)
        return touched

    def _update(self, session: Session, changed: set[int]) -> None:
        """Read the changed announcements again; re-pack only the classes they reach."""
        self.updates += len(changed)
        assert self._window is not None
        touched: set[str] = set()
        for ann_id in changed:
            for aud in self._audiences.pop(ann_id, []):
                del self._audience_by_key[aud.key]
                touched |= aud.sites
                for site in aud.sites:
                    self._site_audiences[site].discard(aud.key)
        ids = sorted(a for a in changed if a)
        items: list[ScheduleItem] = []
        for chunk in range(0, len(ids), IN_CHUNK):
            items.extend(
                session.scalars(
                    candidate_items(*self._window).where(
                        ScheduleItem.announcement_id.in_(ids[chunk : chunk + IN_CHUNK])
                    )
                )
            )
        cuts = cuts_between(session, *self._window, ann_ids=ids) if ids else []
        touched |= self._add_audiences(self._audiences_of(session, items, cuts))
        self._reclass(touched)

    def _reclass(self, sites: set[str]) -> None:
        """Move ``sites`` to the classes of their current audiences and relays; the classes
        they end up in are built again (the others keep their packing)."""
        rebuild: set[ClassKey] = set()
        for site in sites:
            key: ClassKey = (
                tuple(sorted(self._site_audiences.get(site, ()))),
                tuple(sorted(self._site_relays.get(site, ()))),
            )
            old = self._site_class.get(site)
            if old is not None and old != key:
                left = self._classes[old]
                left.sites.discard(site)
                if not left.sites:
                    del self._classes[old]
            self._site_class[site] = key
            self._classes.setdefault(key, _Class(key)).sites.add(site)
            rebuild.add(key)
        for key in rebuild:
            cls = self._classes[key]
            cls.candidates = sorted(
                (c for g in key[0] for c in self._audience_by_key[g].candidates),
                key=lambda c: (c.nominal, c.key),
            )
            cls.starts = [c.nominal for c in cls.candidates]
            cls.relays = sorted(
                (r for relay_id in key[1] for r in self._relays.get(relay_id, ())),
                key=lambda r: (r[0].start, r[0].relay.id),
            )
            cls.packed = cls.items = None

    # --- packing and plan items ------------------------------------------------------------

    def _plan(
        self, cls: _Class, since: datetime, end: datetime, first_relay_day: date
    ) -> list[PlanItem]:
        """The class's plan items for [since, end), packed again only when its airings or
        relays in the window changed."""
        lo = bisect.bisect_left(cls.starts, since)
        hi = bisect.bisect_left(cls.starts, end)
        chosen = tuple(
            i
            for i, (r, day) in enumerate(cls.relays)
            if day >= first_relay_day and r.start < end and r.end > since
        )
        key = (lo, hi, chosen)
        if cls.packed is None or cls.packed[0] != key:
            relays = [cls.relays[i][0] for i in chosen]
            busy = [Busy(f"relay-{r.relay.id}", r.start, r.end) for r in relays]
            placed, _clashes = pack(cls.candidates[lo:hi], busy)
            piece_starts = sorted(start for _r, start, _e in relay_pieces(relays, placed))
            cls.packed = (key, placed, relays, piece_starts)
        _key, placed, relays, piece_starts = cls.packed
        items_key = (key, bisect.bisect_left(piece_starts, since))
        if cls.items is None or cls.items[0] != items_key:
            items = relay_items(relays, placed, self.public_url, since=since)
            items.extend(self._item(p) for p in placed)
            items.sort(key=lambda i: (i.start, i.id))
            cls.items = (items_key, items)
        return cls.items[1]

    def _item(self, placed: Placed) -> PlanItem:
        """One wire item per (airing, start), shared by every class that places it there."""
        airing: Airing = placed.candidate.payload
        key = (id(airing), placed.start)
        found = self._items.get(key)
        if found is None:  # the airing is kept in the value, so its id is not reused
            found = self._items[key] = (airing, to_plan_items([placed], self.public_url)[0])
        return found[1]
