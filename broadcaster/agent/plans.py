"""Deciding on a plan from the server (refused when for another site, expired, or not newer than
the current one) and on an ack of the events outbox.

A plan the store cannot save (disk full, read-only, I/O error) is still handed to the runner:
its items whose media is cached play from memory. The failure is a ``failed`` event and the
last error; the save is tried again with every retry of the store's writes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from broadcaster.clock import Clock
from broadcaster.wire.canonical import canonical_json
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack
from broadcaster.wire.plan import Plan

from .fetch import Prefetcher
from .reporter import Reporter
from .runner import Runner
from .store import Store, StoreError
from .trust import Trust

logger = logging.getLogger(__name__)


class PlanHandler:
    """Accepts a newer plan for this site: saved, handed to the runner, its media prefetched."""

    def __init__(
        self,
        site: str,
        *,
        store: Store,
        runner: Runner,
        prefetcher: Prefetcher,
        trust: Trust,
        reporter: Reporter,
        clock: Clock,
    ) -> None:
        self.site = site
        self.store = store
        self.runner = runner
        self.prefetcher = prefetcher
        self.trust = trust
        self.reporter = reporter
        self.clock = clock
        self._unsaved: tuple[int, str] | None = None  # (version, body) live but not saved

    @property
    def unsaved(self) -> bool:
        return self._unsaved is not None

    def retry_save(self) -> bool:
        """Save the plan that runs from memory only; True once it is saved (or none waits)."""
        if self._unsaved is None:
            return True
        version, body = self._unsaved
        try:
            self.store.save_plan(version, body, self.clock.now())
        except StoreError:
            return False
        except ValueError:  # a newer plan was saved meanwhile: nothing left to save
            logger.info("plan v%d ran from memory; a newer one is saved", version)
        else:
            logger.info("plan v%d saved (it ran from memory until now)", version)
        self._unsaved = None
        return True

    def load_saved(self) -> None:
        """Hand the plan saved before a restart to the runner."""
        saved = self.store.plan()
        if saved is None:
            return
        try:
            self.runner.set_plan(Plan.from_dict(json.loads(saved[1])))
        except (ProtocolError, ValueError) as exc:
            logger.error("saved plan version %d is unreadable: %s", saved[0], exc)

    def handle(self, topic: str, data: bytes) -> None:
        payload = self.trust.open(data, topic, "plan")
        if payload is None:
            return
        try:
            plan = Plan.from_dict(payload)
        except ProtocolError as exc:
            # Signed by a trusted key but not a valid plan: a server bug, worth an event.
            logger.warning("plan ignored, wrong schema: %s", exc)
            self.reporter.reject("plan", exc.reason, exc.detail)
            return
        self._consider(plan, payload)

    def _consider(self, plan: Plan, payload: dict[str, object]) -> None:
        reject = self.reporter.reject
        if plan.site != self.site:
            reject("plan", "wrong-site", f"plan v{plan.version} is for site {plan.site!r}")
            return
        now = self.clock.now()
        if plan.expires_at < now:
            reject("plan", "expired", f"plan v{plan.version} expired at {plan.expires_at:%c} UTC")
            return
        body = canonical_json(payload).decode("utf-8")
        if self._unsaved is not None and self._unsaved == (plan.version, body):
            self.retry_save()  # the live plan again (a reconnect): only its save is pending
            return
        saved = self.store.plan()
        if saved is not None and plan.version <= saved[0]:
            if plan.version == saved[0] and saved[1] == body:
                # The retained plan comes again after every (re)subscribe: nothing to report.
                logger.debug("plan v%d already current", plan.version)
            elif plan.version == saved[0]:
                reject("plan", "replayed", f"plan v{plan.version} differs from the current one")
            else:
                reject("plan", "stale", f"plan v{plan.version} is older than v{saved[0]}")
            return
        if self._unsaved is not None and plan.version <= self._unsaved[0]:
            why = "replayed" if plan.version == self._unsaved[0] else "stale"
            reject("plan", why, f"plan v{plan.version} is not newer than v{self._unsaved[0]}")
            return
        try:
            self.store.save_plan(plan.version, body, now)
            self._unsaved = None
        except StoreError as exc:
            self._unsaved = (plan.version, body)
            self.reporter.store_failed(f"plan v{plan.version} not saved; it runs from memory", exc)
        self.runner.set_plan(plan)
        self.prefetcher.kick()
        logger.info("accepted plan v%d with %d item(s)", plan.version, len(plan.items))
        self.reporter.status_changed()  # tells the server which version is live


class AckHandler:
    """Deletes the events the server has stored from the outbox; tells ``on_ack`` of every
    verified ack for our outbox (whether the server takes batches of events)."""

    def __init__(
        self,
        site: str,
        *,
        store: Store,
        trust: Trust,
        on_ack: Callable[[Ack], None] = lambda ack: None,
    ) -> None:
        self.site = site
        self.store = store
        self.trust = trust
        self.on_ack = on_ack

    def handle(self, topic: str, data: bytes) -> None:
        try:
            ack = Ack.from_dict(self.trust.verifier.open(data))
        except ProtocolError as exc:
            logger.warning("ack ignored: %s", exc)
            return
        if ack.site != self.site or ack.outbox != self.store.outbox_id:
            logger.warning("ack ignored: for site %s outbox %s, not ours", ack.site, ack.outbox)
            return
        deleted = self.store.ack(ack.seq)
        logger.info("ack up to seq %d: %d event(s) removed from the outbox", ack.seq, deleted)
        self.on_ack(ack)
