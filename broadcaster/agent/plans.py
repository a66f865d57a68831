"""Deciding on a plan from the server (refused when for another site, expired, or not newer than
the current one) and on an ack of the events outbox."""

from __future__ import annotations

import json
import logging

from broadcaster.wire.canonical import canonical_json
from broadcaster.wire.errors import ProtocolError
from broadcaster.wire.messages import Ack, Plan

from .inbox import Inbox

logger = logging.getLogger(__name__)


class PlanHandling(Inbox):
    """The ``Agent``'s plan and ack handling."""

    def _load_saved_plan(self) -> None:
        assert self.store is not None and self.runner is not None
        saved = self.store.plan()
        if saved is None:
            return
        try:
            self.runner.set_plan(Plan.from_dict(json.loads(saved[1])))
        except (ProtocolError, ValueError) as exc:
            logger.error("saved plan version %d is unreadable: %s", saved[0], exc)

    def handle_plan(self, data: bytes, topic: str = "") -> None:
        payload = self._open(data, topic or self.topics.plan(self.config.site), "plan")
        if payload is None:
            return
        try:
            plan = Plan.from_dict(payload)
        except ProtocolError as exc:
            # Signed by a trusted key but not a valid plan: a server bug, worth an event.
            logger.warning("plan ignored, wrong schema: %s", exc)
            self._reject("plan", exc.reason, exc.detail)
            return
        with self._lock:
            self._consider_plan(plan, payload)

    def _consider_plan(self, plan: Plan, payload: dict[str, object]) -> None:
        assert self.store is not None and self.runner is not None
        if plan.site != self.config.site:
            self._reject("plan", "wrong-site", f"plan v{plan.version} is for site {plan.site!r}")
            return
        now = self.clock()
        if plan.expires_at < now:
            self._reject(
                "plan", "expired", f"plan v{plan.version} expired at {plan.expires_at:%c} UTC"
            )
            return
        body = canonical_json(payload).decode("utf-8")
        saved = self.store.plan()
        if saved is not None and plan.version <= saved[0]:
            if plan.version == saved[0] and saved[1] == body:
                # The retained plan comes again after every (re)subscribe: nothing to report.
                logger.debug("plan v%d already current", plan.version)
            elif plan.version == saved[0]:
                self._reject(
                    "plan", "replayed", f"plan v{plan.version} differs from the current one"
                )
            else:
                self._reject("plan", "stale", f"plan v{plan.version} is older than v{saved[0]}")
            return
        self.store.save_plan(plan.version, body, now)
        self.runner.set_plan(plan)
        if self.prefetcher is not None:
            self.prefetcher.kick()
        logger.info("accepted plan v%d with %d item(s)", plan.version, len(plan.items))
        if self.link is not None:
            self.link.publish_status("online")  # tells the server which version is live

    def handle_ack(self, data: bytes) -> None:
        assert self.store is not None
        try:
            ack = Ack.from_dict(self.verifier.open(data))
        except ProtocolError as exc:
            logger.warning("ack ignored: %s", exc)
            return
        if ack.site != self.config.site or ack.outbox != self.store.outbox_id:
            logger.warning("ack ignored: for site %s outbox %s, not ours", ack.site, ack.outbox)
            return
        deleted = self.store.ack(ack.seq)
        logger.info("ack up to seq %d: %d event(s) removed from the outbox", ack.seq, deleted)
