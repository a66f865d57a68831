"""The scheduler process: materialize and publish every site's plan, ahead of time, and follow
each emergency command until every target site confirms it (re-sending and alerting); also
the periodic jobs (workflow notices, report roll-ups, retention: media and refused messages).

Runs in exactly one process (APScheduler 3.x job stores cannot be shared by several
schedulers) and never inside web workers. Jobs have explicit ids and replace_existing=True.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from audio.media_prune import MediaPruneReport, prune_media
from audio.renderer import Renderer, make_renderer
from audio.store import MediaStore
from broadcaster import rollups
from broadcaster.alerts import Notifier
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.plans_mark import PlansMark
from broadcaster.publish import PlanPublisher, items_digest, newest_version
from broadcaster.retention import RejectedPruneReport, prune_rejected
from broadcaster.wire.plan import PlanItem
from schedules import notices, replays
from schedules.emergency_delivery import DeliveryTracker
from schedules.plan_cache import PlanCache
from schedules.relays import ensure_relay_fallbacks

logger = logging.getLogger(__name__)

PUBLISH_JOB = "publish-plans"
DELIVERY_JOB = "emergency-deliveries"
NOTICE_JOB = "workflow-notices"
ROLLUP_JOB = "report-rollups"
PRUNE_JOB = "retention"
MISFIRE_GRACE_S = 30
# Relays added while running (an import without a renderer) get their fallback this soon.
FALLBACK_CHECK = timedelta(minutes=5)


@dataclass
class SchedulerRuntime:
    settings: Settings
    factory: sessionmaker[Session]
    plans: PlanPublisher
    clock: Clock
    render: Renderer | None = None  # default: the configured renderer, made when first needed
    # default: re-sends through the plans' signer and link, alerts through the configured notifier
    deliveries: DeliveryTracker | None = None
    # The broker's retained mark: when the broker lost its retained plans, republish them all.
    mark: PlansMark | None = None
    # A replay of an airing an emergency cut off starts at least this long after it is decided.
    replay_lead: timedelta = replays.LEAD

    def __post_init__(self) -> None:
        self._scheduler = BackgroundScheduler(timezone=self.settings.timezone)
        self._fallbacks_checked: datetime | None = None
        # Kept between ticks: an edit re-materializes only the sites it reaches.
        self.planner = PlanCache(self.settings.public_url, tz=self.settings.timezone)
        self._digest_memo: dict[int, tuple[list[PlanItem], str]] = {}
        if self.deliveries is None:
            self.deliveries = DeliveryTracker(
                self.factory,
                self.plans.signer,
                self.plans.publisher,
                self.plans.topics,
                self.clock,
                resend_after=timedelta(seconds=self.settings.emergency_resend_after_s),
                notifier=Notifier.from_settings(self.settings),
            )

    def ensure_fallbacks(self) -> int:
        """Give every relay without a fallback one (rendered once); returns how many got one.

        A failure (no TTS engine, say) is logged and retried later: relays without a fallback
        stay out of the plans, announcements are published regardless.
        """
        self._fallbacks_checked = self.clock.now()
        try:
            if self.render is None:
                self.render = make_renderer(self.settings)
            with self.factory() as session, session.begin():
                return ensure_relay_fallbacks(session, self.render)
        except Exception:
            logger.exception("could not render the relay fallback; will retry")
            return 0

    def publish_plans(
        self, site_ids: Iterable[str] | None = None, *, force: bool = False
    ) -> dict[str, int]:
        """Publish the given sites (default: all) whose plan changed; returns {site: version}.

        Only sites whose materialized items differ from what they last received are sent (the
        publisher compares digests), so a change republishes exactly the affected sites;
        ``force`` sends every one of them (``republish``).
        """
        now = self.clock.now()
        self.decide_replays(now)
        horizon = timedelta(hours=self.settings.plan_horizon_hours)
        published: dict[str, int] = {}
        with self.factory() as session, session.begin():
            plans = self.planner.materialize(session, now, horizon, site_ids=site_ids)
            digests = self._digests(plans, everyone=site_ids is None)
            due = set(digests) if force else self.plans.due(session, digests, now)
            for site_id in sorted(due):
                version = self.plans.publish_site(
                    session, site_id, plans[site_id], now, digest=digests[site_id], force=force
                )
                if version is not None:
                    published[site_id] = version
        return published

    def decide_replays(self, now: datetime) -> int:
        """Decide the replays of airings an emergency cut off (``schedules.replays``), before
        the plans are made; a failure is logged and retried on the next tick."""
        try:
            with self.factory() as session, session.begin():
                return replays.decide(
                    session, now, tz=self.settings.timezone, lead=self.replay_lead
                )
        except Exception:
            logger.exception("deciding replays failed; will retry")
            return 0

    def _digests(self, plans: dict[str, list[PlanItem]], *, everyone: bool) -> dict[str, str]:
        """Each site's ``items_digest``, computed once per list: sites of one audience share
        one, and the planner hands back the same list while nothing in it changed."""
        seen: dict[int, tuple[list[PlanItem], str]] = {}
        out = {}
        for site_id, items in plans.items():
            found = seen.get(id(items)) or self._digest_memo.get(id(items))
            if found is None or found[0] is not items:
                found = (items, items_digest(items))
            seen[id(items)] = found  # the list is kept with it, so its id is not reused
            out[site_id] = found[1]
        self._digest_memo = seen if everyone else {**self._digest_memo, **seen}
        return out

    def republish(self, site_ids: Iterable[str] | None = None) -> dict[str, int]:
        """Send the given sites' (default: every site's) plans again, changed or not; after a
        full republish the broker's mark says it holds them all."""
        published = self.publish_plans(site_ids, force=True)
        if site_ids is None and self.mark is not None:
            self._write_mark()
        return published

    def check_broker(self) -> bool:
        """After a (re)connect: republish everything if the broker lost retained plans.
        Returns whether it did."""
        check = self.mark.take() if self.mark is not None else None
        if check is None:
            return False
        with self.factory() as session:
            newest = newest_version(session)
        if not check.lost(newest):
            logger.info("the broker holds the retained plans (mark v%s)", check.mark)
            return False
        logger.warning(
            "the broker has lost retained plans (its mark: %s, newest plan v%d); "
            "republishing every plan",
            "none" if check.mark is None else f"v{check.mark}",
            newest,
        )
        published = self.republish()
        logger.info("republished %d plans", len(published))
        return True

    def _write_mark(self) -> None:
        assert self.mark is not None
        with self.factory() as session:
            newest = newest_version(session)
        if newest:
            self.mark.write(newest)

    def start(self) -> None:
        self.ensure_fallbacks()
        self.add_jobs()
        self._scheduler.start()
        logger.info(
            "scheduler started: plans every %.1fs over %dh",
            self.settings.plan_publish_interval_s,
            self.settings.plan_horizon_hours,
        )

    def _every(self, job_id: str, job: Callable[[], None], seconds: float, **extra: Any) -> None:
        """A job every ``seconds``, under a stable id: never two at once, missed runs coalesced."""
        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
            **extra,
        )

    def add_jobs(self) -> None:
        """(Re)register the jobs under stable ids; safe to call again after a restart."""
        self._every(
            PUBLISH_JOB,
            self._publish_job,
            self.settings.plan_publish_interval_s,
            next_run_time=self.clock.now(),
        )
        self._every(DELIVERY_JOB, self._deliveries_job, self.settings.emergency_check_interval_s)
        self._every(NOTICE_JOB, self._notices_job, self.settings.notify_check_interval_s)
        self._every(ROLLUP_JOB, self._rollups_job, self.settings.rollup_refresh_interval_s)
        if self.settings.prune_interval_s > 0:
            self._every(PRUNE_JOB, self._prune_job, self.settings.prune_interval_s)

    def job(self, job_id: str = PUBLISH_JOB):  # type: ignore[no-untyped-def]
        """The APScheduler job with that id (for checks and tests)."""
        return self._scheduler.get_job(job_id)

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def _publish_job(self) -> None:
        checked = self._fallbacks_checked
        if checked is None or self.clock.now() - checked >= FALLBACK_CHECK:
            self.ensure_fallbacks()
        try:
            if not self.check_broker() and self.publish_plans() and self.mark is not None:
                self._write_mark()
        except Exception:  # the next run retries; the job must stay scheduled
            logger.exception("publishing plans failed; will retry")

    def _notices_job(self) -> None:
        try:
            notices.deliver_due(
                self.factory, notices.Channels.from_settings(self.settings), self.clock.now()
            )
        except Exception:  # the next run retries; the job must stay scheduled
            logger.exception("sending workflow notices failed; will retry")

    def refresh_rollups(self) -> int:
        """Bring the reports' daily roll-ups up to date; the (unit, day)s recomputed."""
        with self.factory() as session, session.begin():
            return rollups.refresh(session, self.settings.timezone)

    def _rollups_job(self) -> None:
        try:
            done = self.refresh_rollups()
        except Exception:  # the marks stay; the next run retries
            logger.exception("refreshing the report roll-ups failed; will retry")
            return
        if done:
            logger.info("report roll-ups: %d (unit, day) recomputed", done)

    def prune_media(self) -> MediaPruneReport:
        """Remove media nothing names any more (``audio.media_prune``)."""
        return prune_media(
            self.factory,
            MediaStore(self.settings.media_dir),
            self.clock.now(),
            timedelta(hours=self.settings.media_prune_grace_hours),
        )

    def prune_rejected(self) -> RejectedPruneReport | None:
        """Delete refused messages past ``rejected_messages_keep_days`` (None: kept for ever)."""
        days = self.settings.rejected_messages_keep_days
        if not days:
            return None
        return prune_rejected(self.factory, self.clock.now(), timedelta(days=days))

    def _prune_job(self) -> None:
        try:
            media = self.prune_media()
        except Exception:  # the next run retries; the job must stay scheduled
            logger.exception("the media clean-up failed; will retry")
        else:
            if media.removed:
                logger.info(
                    "media clean-up: removed %d files (%d bytes), %d rows; %d unused held",
                    len(media.removed),
                    media.bytes_freed,
                    media.rows_deleted,
                    media.held,
                )
            if media.missing:
                logger.warning(
                    "%d media in use are not in the store: %s",
                    len(media.missing),
                    ", ".join(media.missing[:5]),
                )
        try:
            rejected = self.prune_rejected()
        except Exception:
            logger.exception("pruning refused messages failed; will retry")
        else:
            if rejected is not None and rejected.deleted:
                logger.info("refused messages: %d deleted", rejected.deleted)

    def _deliveries_job(self) -> None:
        assert self.deliveries is not None
        try:
            self.deliveries.run()
        except Exception:  # the next run retries; the job must stay scheduled
            logger.exception("following emergency deliveries failed; will retry")
