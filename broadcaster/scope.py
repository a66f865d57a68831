"""The one scope every read and write passes through (issue 11).

A user's role applies to their unit and everything below it. ``Scope.of(session, user)`` finds
that subtree once (a recursive query, ``broadcaster.units.subtree_select``); its methods are the
WHERE clauses of each kind of row, and ``get`` is the lookup by id that answers None for a row
outside the scope (the web turns that into 404, as for a row that does not exist).

A scope that holds every unit (the top unit's users, the server's own processes, API tokens)
filters nothing, so the province's views cost what they cost before units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcaster.models import (
    Announcement,
    ApiToken,
    Bulletin,
    BulletinDelivery,
    Campaign,
    Emergency,
    LiveSession,
    Playback,
    PlaybackEvent,
    Relay,
    Site,
    SiteAlert,
    Unit,
    User,
    Zone,
    announcement_zones,
    relay_zones,
)
from broadcaster.units import subtree_cte

T = TypeVar("T")

# ``Scope.below``'s query, built once (building it cost more than running it), its unit a
# parameter: the ids of the unit's subtree; or, when that is every unit, one NULL.
_TREE = subtree_cte(bindparam("unit_id"))
_SIZE = select(func.count()).select_from(_TREE).scalar_subquery()
_UNITS = select(func.count()).select_from(Unit).scalar_subquery()
_SUBTREE_OR_ALL = union_all(
    select(_TREE.c.id).where(_SIZE < _UNITS),
    select(null()).where(_SIZE >= _UNITS, _SIZE > 0),
)
# ``Scope.with_user``'s query: a user and, in the same row, their subtree as one string of ids
# ("1,7,9") and the number of units (a subtree that holds them all filters nothing), so a web
# request loads both in one round trip; the recursive CTE is read once.
_USER_TREE = subtree_cte(
    select(User.unit_id).where(User.id == bindparam("user_id")).scalar_subquery(), "user_tree"
)
_USER_WITH_SCOPE = select(
    User,
    select(func.aggregate_strings(cast(_USER_TREE.c.id, String), ",")).scalar_subquery(),
    _UNITS,
).where(User.id == bindparam("user_id"))
# The models whose clause is only "their unit is in scope" (and, for an inbox item, "sent"):
# ``Scope.get`` checks a loaded row of these without a second query. Keep in step with the
# clauses below.
_UNIT_OF: dict[type, str] = {
    Unit: "id",
    User: "unit_id",
    ApiToken: "unit_id",
    Zone: "unit_id",
    Site: "unit_id",
    Campaign: "unit_id",
    Playback: "unit_id",
    PlaybackEvent: "unit_id",
    Bulletin: "unit_id",
    BulletinDelivery: "unit_id",
}


class OutOfScope(LookupError):
    """Asked for (or to target) something outside the user's units; shown as "not found"."""


@dataclass(frozen=True)
class Scope:
    """The units a user may see and act in: ``unit_ids``, or everything."""

    unit_ids: frozenset[int]
    everything: bool = False

    @classmethod
    def whole(cls) -> Scope:
        """Every unit: the server's own processes, the CLI and API tokens."""
        return cls(frozenset(), everything=True)

    @classmethod
    def of(cls, session: Session, user: User) -> Scope:
        """``user``'s unit and everything below it."""
        return cls.below(session, user.unit_id)

    @classmethod
    def with_user(cls, session: Session, user_id: int) -> tuple[User, Scope] | None:
        """The user with this id and their scope (what ``of`` answers), read in one statement:
        every web request needs both. None if there is no such user."""
        row = session.execute(_USER_WITH_SCOPE, {"user_id": user_id}).one_or_none()
        if row is None:
            return None
        user, ids, units = row
        subtree = frozenset(int(i) for i in ids.split(",")) if ids else frozenset()
        if subtree and len(subtree) >= units:
            return user, cls.whole()
        return user, cls(subtree)

    @classmethod
    def below(cls, session: Session, unit_id: int) -> Scope:
        """Unit ``unit_id`` and everything below it (a user's, an API token's): one query, as
        every request runs it, that answers the subtree's ids, or one NULL when the subtree
        holds every unit (a province's 300 ids cost more to read than the query to run)."""
        ids = session.scalars(_SUBTREE_OR_ALL, {"unit_id": unit_id}).all()
        if ids == [None]:
            return cls.whole()
        return cls(frozenset(ids))

    def covers(self, unit_id: int | None) -> bool:
        return self.everything or unit_id in self.unit_ids

    # --- WHERE clauses, one per kind of row --------------------------------------------------

    def on(self, column: InstrumentedAttribute[Any] | ColumnElement[Any]) -> ColumnElement[bool]:
        """``column`` (a unit id) is in the scope."""
        if self.everything:
            return true()
        if not self.unit_ids:
            return false()
        return column.in_(sorted(self.unit_ids))

    def units(self) -> ColumnElement[bool]:
        return self.on(Unit.id)

    def users(self) -> ColumnElement[bool]:
        return self.on(User.unit_id)

    def api_tokens(self) -> ColumnElement[bool]:
        return self.on(ApiToken.unit_id)

    def zones(self) -> ColumnElement[bool]:
        return self.on(Zone.unit_id)

    def sites(self) -> ColumnElement[bool]:
        return self.on(Site.unit_id)

    def site_ids(self) -> Select[str]:
        return select(Site.id).where(self.sites())

    def zone_ids(self) -> Select[str]:
        return select(Zone.id).where(self.zones())

    def announcements(self) -> ColumnElement[bool]:
        """Owned by a unit in scope, and no target zone outside it."""
        if self.everything:
            return true()
        outside = exists().where(
            announcement_zones.c.announcement_id == Announcement.id,
            announcement_zones.c.zone_id == Zone.id,
            ~self.zones(),
        )
        return and_(self.on(Announcement.unit_id), ~outside)

    def announcement_ids(self) -> Select[int]:
        return select(Announcement.id).where(self.announcements())

    def campaigns(self) -> ColumnElement[bool]:
        return self.on(Campaign.unit_id)

    def relays(self) -> ColumnElement[bool]:
        """Relays whose every zone is in scope."""
        if self.everything:
            return true()
        outside = exists().where(
            relay_zones.c.relay_id == Relay.id, relay_zones.c.zone_id == Zone.id, ~self.zones()
        )
        return ~outside

    def emergencies(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        return Emergency.announcement_id.in_(self.announcement_ids())

    def live_sessions(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        return LiveSession.announcement_id.in_(self.announcement_ids())

    def playbacks(self) -> ColumnElement[bool]:
        """Airings counted under the unit they aired under (kept through merges)."""
        return self.on(Playback.unit_id)

    def events(self) -> ColumnElement[bool]:
        return self.on(PlaybackEvent.unit_id)

    def bulletins(self) -> ColumnElement[bool]:
        """Bulletins sent by a unit in scope (the communes see theirs as inbox items)."""
        return self.on(Bulletin.unit_id)

    def deliveries(self) -> ColumnElement[bool]:
        """Inbox items of communes in scope, once their bulletin is approved."""
        return and_(self.on(BulletinDelivery.unit_id), BulletinDelivery.state != "pending")

    def alerts(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        return SiteAlert.site_id.in_(self.site_ids())

    # --- Lookups and checks ------------------------------------------------------------------

    def where(self, model: type) -> ColumnElement[bool]:
        """The clause for ``model``'s rows."""
        clauses = {
            Unit: self.units,
            User: self.users,
            ApiToken: self.api_tokens,
            Zone: self.zones,
            Site: self.sites,
            Announcement: self.announcements,
            Campaign: self.campaigns,
            Relay: self.relays,
            Emergency: self.emergencies,
            LiveSession: self.live_sessions,
            Playback: self.playbacks,
            PlaybackEvent: self.events,
            SiteAlert: self.alerts,
            Bulletin: self.bulletins,
            BulletinDelivery: self.deliveries,
        }
        if model not in clauses:
            raise TypeError(f"no scope rule for {model.__name__}")
        return clauses[model]()

    def get(self, session: Session, model: type[T], key: Any) -> T | None:
        """The row of ``model`` with primary key ``key`` if it exists and is in scope."""
        row = session.get(model, key)
        if row is None or self.everything:
            return row
        if model in _UNIT_OF:  # the loaded row says, as its clause would (after autoflush)
            return row if self._holds(model, row) else None
        pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
        found = session.scalar(select(pk).where(pk == key, self.where(model)))
        return row if found is not None else None

    def _holds(self, model: type, row: Any) -> bool:
        """``row`` passes ``where(model)``, read from the loaded row (models in ``_UNIT_OF``)."""
        if not self.covers(getattr(row, _UNIT_OF[model])):
            return False
        return model is not BulletinDelivery or row.state != "pending"

    def require(self, session: Session, model: type[T], key: Any) -> T:
        """Like ``get``, raising OutOfScope for a row that is missing or outside."""
        row = self.get(session, model, key)
        if row is None:
            raise OutOfScope(f"{model.__name__.lower()} {key!r} not found")
        return row

    def zones_in(self, session: Session, zone_ids: Iterable[str]) -> list[Zone]:
        """The zones named that are in scope, in the order asked (unknown ones left out)."""
        ids = list(dict.fromkeys(zone_ids))
        if not ids:
            return []
        found = {
            z.id: z for z in session.scalars(select(Zone).where(Zone.id.in_(ids), self.zones()))
        }
        return [found[i] for i in ids if i in found]
