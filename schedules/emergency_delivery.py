"""Following an emergency command to every target site until the site confirms it (issue 10).

:func:`schedules.emergency.publish_emergency` keeps the command and records one
:class:`EmergencyDelivery` per target site. The scheduler runs :meth:`DeliveryTracker.run`
every ``emergency_check_interval_s``; at its clock's now it

- confirms a site once any event of the airing arrived from it (``received``, ``started``, …:
  the agent reports through its outbox, so a confirmation survives a restart or a lost link);
- re-sends the same command (same id, same seq, signed again by the current key) on the site's
  own command topic when the site has been silent ``emergency_resend_after_s`` since the last
  send, until the command expires. The agent acts on a command once: a copy of one it already
  has is ignored, so a re-send never plays twice;
- keeps an ``emergency-silent`` alert open for each site with an unconfirmed emergency of the
  last 24 hours, sent through the alerts' notifier when raised and cleared when the site
  confirms.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.alerts import EMERGENCY_SILENT, Alert, Changes, Notifier, mark_notified, sync
from broadcaster.clock import Clock
from broadcaster.models import Emergency, EmergencyDelivery, PlaybackEvent, Site
from broadcaster.mqtt import PublishError
from broadcaster.publisher import Publisher
from broadcaster.wire.fields import from_wire_time
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

logger = logging.getLogger(__name__)

ALERT_WINDOW = timedelta(hours=24)  # an unconfirmed emergency older than this stops alerting
DEFAULT_RESEND_AFTER_S = 30.0


def record_deliveries(
    session: Session, emergency: Emergency, site_ids: list[str], sent_at: datetime
) -> None:
    """One delivery row per target site, sent now (the caller flushes and commits)."""
    for site_id in sorted(set(site_ids)):
        session.add(
            EmergencyDelivery(
                emergency_id=emergency.id,
                site_id=site_id,
                sent_at=sent_at,
                last_sent_at=sent_at,
                sends=1,
            )
        )


def delivery_state(row: EmergencyDelivery | None) -> str:
    """ "confirmed", "silent" (not confirmed in time, re-sent) or "waiting" (none: not tracked)."""
    if row is None:
        return "waiting"
    if row.confirmed_at is not None:
        return "confirmed"
    return "silent" if row.silent_since is not None else "waiting"


@dataclass
class Round:
    """What one run of the tracker did."""

    confirmed: list[tuple[int, str]] = field(default_factory=list)  # (emergency id, site)
    resent: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # a re-send that did not go out
    alerts: Changes = field(default_factory=lambda: Changes([], []))


@dataclass
class DeliveryTracker:
    """Confirms, re-sends and alerts; one instance in the scheduler process."""

    factory: sessionmaker[Session]
    signer: Signer
    publisher: Publisher
    topics: Topics
    clock: Clock
    resend_after: timedelta = timedelta(seconds=DEFAULT_RESEND_AFTER_S)
    notifier: Notifier = field(default_factory=Notifier)

    def run(self) -> Round:
        now = self.clock.now()
        result = Round()
        with self.factory() as session, session.begin():
            pending = list(
                session.scalars(
                    select(EmergencyDelivery).where(
                        EmergencyDelivery.confirmed_at.is_(None),
                        EmergencyDelivery.sent_at >= now - ALERT_WINDOW,
                    )
                )
            )
            by_emergency: dict[int, list[EmergencyDelivery]] = defaultdict(list)
            for row in pending:
                by_emergency[row.emergency_id].append(row)
            for emergency_id, rows in sorted(by_emergency.items()):
                self._follow(session, emergency_id, rows, now, result)
            result.alerts = sync(session, self._alerts(session, now), now, (EMERGENCY_SILENT,))
            mark_notified(session, result.alerts, now)
        self.notifier.send(result.alerts, now)
        if result.confirmed or result.resent or result.failed:
            logger.info(
                "emergency deliveries: %d confirmed, %d re-sent, %d re-sends failed",
                len(result.confirmed),
                len(result.resent),
                len(result.failed),
            )
        return result

    def _follow(
        self,
        session: Session,
        emergency_id: int,
        rows: list[EmergencyDelivery],
        now: datetime,
        result: Round,
    ) -> None:
        emergency = session.get(Emergency, emergency_id)
        if emergency is None or not emergency.command_body:
            return
        if emergency.stopped_at is not None:  # stopped: never sent again
            return
        body = json.loads(emergency.command_body)
        item_id = body["item"]["id"]
        expires_at = from_wire_time(body["expires_at"], "command.expires_at")
        heard = set(
            session.scalars(
                select(PlaybackEvent.site_id)
                .where(
                    PlaybackEvent.item_id == item_id,
                    PlaybackEvent.site_id.in_([r.site_id for r in rows]),
                )
                .distinct()
            )
        )
        for row in rows:
            if row.site_id in heard:
                row.confirmed_at = now
                result.confirmed.append((emergency_id, row.site_id))
                if row.silent_since is not None:
                    logger.warning(
                        "emergency %d: site %s confirmed after %d send(s)",
                        emergency_id,
                        row.site_id,
                        row.sends,
                    )
                continue
            if now - row.last_sent_at < self.resend_after:
                continue
            if row.silent_since is None:
                row.silent_since = now
                logger.error(
                    "emergency %d: site %s has not confirmed command %s within %.0f s",
                    emergency_id,
                    row.site_id,
                    emergency.command_id,
                    self.resend_after.total_seconds(),
                )
            if now >= expires_at:
                continue  # the agent would refuse it as expired; the alert stays
            try:
                self.publisher.publish(
                    self.topics.site_cmd(row.site_id), self.signer.sign(body), qos=1, retain=False
                )
            except (PublishError, OSError) as exc:
                logger.warning(
                    "emergency %d: re-send to %s failed: %s", emergency_id, row.site_id, exc
                )
                result.failed.append((emergency_id, row.site_id))
                continue
            row.last_sent_at = now
            row.sends += 1
            result.resent.append((emergency_id, row.site_id))
            logger.warning(
                "emergency %d: command %s re-sent to silent site %s (send %d)",
                emergency_id,
                emergency.command_id,
                row.site_id,
                row.sends,
            )

    def _alerts(self, session: Session, now: datetime) -> list[Alert]:
        """One alert per site with silent, unconfirmed emergencies of the alert window."""
        rows = session.execute(
            select(EmergencyDelivery, Site.name)
            .join(Site, Site.id == EmergencyDelivery.site_id)
            .join(Emergency, Emergency.id == EmergencyDelivery.emergency_id)
            .where(
                Emergency.stopped_at.is_(None),
                EmergencyDelivery.confirmed_at.is_(None),
                EmergencyDelivery.silent_since.is_not(None),
                EmergencyDelivery.sent_at >= now - ALERT_WINDOW,
            )
            .order_by(EmergencyDelivery.site_id, EmergencyDelivery.emergency_id)
        ).all()
        silent: dict[str, tuple[str, list[str]]] = {}
        for row, name in rows:
            what = f"emergency {row.emergency_id} not confirmed (sent {row.sends} times)"
            silent.setdefault(row.site_id, (name, []))[1].append(what)
        return [
            Alert(site_id, name, EMERGENCY_SILENT, "; ".join(details))
            for site_id, (name, details) in silent.items()
        ]
