"""Site health alerts: compute them, keep them open until cleared, notify by webhook and e-mail.

Kinds: ``offline`` (offline or silent longer than a threshold), ``failures`` (repeated failed
playbacks in 24 h), ``stale-plan`` (the site still runs an older plan long after a newer one was
published), ``clock-drift`` (the agent's clock is off by more than a threshold), ``rejected``
(ingest refused messages from the site in 24 h: a broken or hostile agent; issue 10). One more,
``emergency-silent`` (a site has not confirmed an emergency command; raised and cleared by
``schedules.emergency_delivery``), shares the rows and the notifier.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import SiteAlert
from broadcaster.outbound import OutboundError, post_json, send_mail
from broadcaster.queries.health import SiteHealth, site_health

logger = logging.getLogger(__name__)

KINDS = ("offline", "failures", "stale-plan", "clock-drift", "rejected")  # from site health
EMERGENCY_SILENT = "emergency-silent"  # computed from emergency deliveries


@dataclass(frozen=True)
class Thresholds:
    offline_after_s: int = 1800
    failures_24h: int = 3
    stale_plan_after_s: int = 900
    clock_drift_ms: int = 2000

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        """Read ``alert_*`` settings when the config has them, else keep the defaults."""
        d = cls()
        return cls(
            offline_after_s=int(getattr(settings, "alert_offline_after_s", d.offline_after_s)),
            failures_24h=int(getattr(settings, "alert_failures_24h", d.failures_24h)),
            stale_plan_after_s=int(
                getattr(settings, "alert_stale_plan_after_s", d.stale_plan_after_s)
            ),
            clock_drift_ms=int(getattr(settings, "alert_clock_drift_ms", d.clock_drift_ms)),
        )


@dataclass(frozen=True)
class Alert:
    site_id: str
    site_name: str
    kind: str
    detail: str


def _ago(now: datetime, then: datetime | None) -> float | None:
    return (now - then).total_seconds() if then else None


def alerts_for(site: SiteHealth, t: Thresholds, now: datetime) -> list[Alert]:
    """The alerts one site raises now."""
    out: list[Alert] = []

    def add(kind: str, detail: str) -> None:
        out.append(Alert(site.site_id, site.name, kind, detail))

    seen = site.last_seen_at or site.state_at
    silent = _ago(now, seen)
    if site.state == "offline" and (silent is None or silent >= t.offline_after_s):
        add("offline", f"offline for {int(silent or 0) // 60} min")
    elif site.state == "online" and silent is not None and silent >= t.offline_after_s:
        add("offline", f"no heartbeat for {int(silent) // 60} min")
    if site.failures_24h >= t.failures_24h:
        add("failures", f"{site.failures_24h} failed playbacks in 24 h")
    published = _ago(now, site.plan_published_at)
    if site.plan_behind and published is not None and published >= t.stale_plan_after_s:
        add(
            "stale-plan",
            f"runs plan v{site.reported_plan_version}, v{site.published_plan_version} "
            f"published {int(published) // 60} min ago",
        )
    if site.clock_offset_ms is not None and abs(site.clock_offset_ms) > t.clock_drift_ms:
        add("clock-drift", f"clock off by {site.clock_offset_ms} ms")
    if site.rejected_24h:
        add(
            "rejected", f"{site.rejected_24h} messages refused in 24 h; last: {site.last_rejection}"
        )
    return out


def annotate(sites: Sequence[SiteHealth], t: Thresholds, now: datetime) -> list[Alert]:
    """Compute every site's alerts and record their kinds on the rows."""
    out: list[Alert] = []
    for s in sites:
        found = alerts_for(s, t, now)
        s.alerts = [a.kind for a in found]
        out += found
    return out


@dataclass(frozen=True)
class Changes:
    raised: list[Alert]
    cleared: list[Alert]


def sync(
    session: Session, current: Sequence[Alert], now: datetime, kinds: Sequence[str] = KINDS
) -> Changes:
    """Open a SiteAlert for each new alert, clear those of ``kinds`` no longer current (alerts
    of other kinds belong to another check)."""
    open_rows = {
        (r.site_id, r.kind): r
        for r in session.scalars(
            select(SiteAlert).where(SiteAlert.cleared_at.is_(None), SiteAlert.kind.in_(kinds))
        )
    }
    now_keys = {(a.site_id, a.kind): a for a in current}
    raised = []
    for key, alert in now_keys.items():
        row = open_rows.get(key)
        if row is None:
            session.add(SiteAlert(site_id=alert.site_id, kind=alert.kind, detail=alert.detail,
                                  raised_at=now))  # fmt: skip
            raised.append(alert)
        else:
            row.detail = alert.detail
    cleared = []
    for key, row in open_rows.items():
        if key not in now_keys:
            row.cleared_at = now
            cleared.append(Alert(row.site_id, row.site_id, row.kind, row.detail))
    session.flush()
    return Changes(raised, cleared)


@dataclass(frozen=True)
class Notifier:
    """Where alerts go: an HTTP webhook (JSON POST) and/or e-mail over SMTP. Both optional."""

    webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    email_from: str = "broadcaster@localhost"
    email_to: tuple[str, ...] = ()
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> Notifier:
        to = getattr(settings, "alert_email_to", "") or ""
        return cls(
            webhook_url=getattr(settings, "alert_webhook_url", "") or "",
            smtp_host=getattr(settings, "alert_smtp_host", "") or "",
            smtp_port=int(getattr(settings, "alert_smtp_port", 25) or 25),
            email_from=getattr(settings, "alert_email_from", "") or "broadcaster@localhost",
            email_to=tuple(a.strip() for a in to.split(",") if a.strip()),
        )

    def send(self, changes: Changes, now: datetime) -> None:
        """Deliver the changes; a failing channel is logged and does not stop the other."""
        if not (changes.raised or changes.cleared):
            return
        if self.webhook_url:
            try:
                self._post(changes, now)
            except OutboundError as exc:
                logger.warning("alert webhook failed: %s", exc)
        if self.smtp_host and self.email_to:
            try:
                self._mail(changes, now)
            except OutboundError as exc:
                logger.warning("alert e-mail failed: %s", exc)

    def _post(self, changes: Changes, now: datetime) -> None:
        body = {
            "at": now.isoformat(),
            "raised": [asdict(a) for a in changes.raised],
            "cleared": [asdict(a) for a in changes.cleared],
        }
        post_json(self.webhook_url, body, self.timeout_s)

    def _mail(self, changes: Changes, now: datetime) -> None:
        subject = (
            f"[broadcaster] {len(changes.raised)} cảnh báo mới / new alerts, "
            f"{len(changes.cleared)} đã hết / cleared"
        )
        lines = [f"{now:%Y-%m-%d %H:%M} UTC", ""]
        lines += [f"+ {a.site_name} ({a.site_id}): {a.kind} — {a.detail}" for a in changes.raised]
        lines += [f"- {a.site_id}: {a.kind} cleared" for a in changes.cleared]
        send_mail(
            self.smtp_host,
            self.smtp_port,
            self.email_from,
            self.email_to,
            subject,
            "\n".join(lines),
            self.timeout_s,
        )


def check(
    factory: sessionmaker[Session],
    thresholds: Thresholds,
    notifier: Notifier,
    now: datetime,
) -> Changes:
    """One alert round at ``now``: compute, record, notify what changed."""
    with factory() as session, session.begin():
        sites = site_health(session, now)
        changes = sync(session, annotate(sites, thresholds, now), now)
        for row in session.scalars(
            select(SiteAlert).where(
                SiteAlert.cleared_at.is_(None),
                SiteAlert.notified_at.is_(None),
                SiteAlert.kind.in_(KINDS),
            )
        ):
            row.notified_at = now
    logger.info("alerts: %d raised, %d cleared", len(changes.raised), len(changes.cleared))
    notifier.send(changes, now)
    return changes


def mark_notified(session: Session, changes: Changes, now: datetime) -> None:
    """Stamp the rows of ``changes.raised`` as notified (the caller sends them)."""
    for alert in changes.raised:
        for row in session.scalars(
            select(SiteAlert).where(
                SiteAlert.site_id == alert.site_id,
                SiteAlert.kind == alert.kind,
                SiteAlert.cleared_at.is_(None),
            )
        ):
            row.notified_at = now
