"""Emergencies never fail silently (issue 10): each target site's confirmation is tracked on the
scheduler's clock; a silent site gets the same command again on its own topic, shows in red on
the emergency page and raises an alert (posted to a real local webhook), cleared when it
confirms. The real-process version is in test_emergency_e2e.py."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.alerts import EMERGENCY_SILENT, Notifier, Thresholds, check
from broadcaster.clock import FakeClock
from broadcaster.commands import CommandPublisher
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.models import EmergencyDelivery, PlaybackEvent, SiteAlert, User
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.commands import Command
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from schedules.emergency import Draft, occurrence_id, publish_emergency, send_emergency
from schedules.emergency_delivery import DeliveryTracker
from schedules.runtime import DELIVERY_JOB, SchedulerRuntime
from tests.support.clock import FIXED_NOW
from tests.web.conftest import FakeRenderer

from .conftest import LoginFn

TOPICS = Topics()
HEARD, SILENT = "cum-loa-t1", "dai-xa"  # the sites of thon-1


class Webhook:
    """A local HTTP endpoint that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

        self.bodies = bodies
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def kinds(self, change: str) -> list[tuple[str, str]]:
        return [(a["site_id"], a["kind"]) for b in self.bodies for a in b[change]]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.httpd.shutdown()
        hook.httpd.server_close()
        hook.thread.join(5)


def _send(
    db: sessionmaker[Session], renderer: FakeRenderer, commands: CommandPublisher, now: datetime
) -> tuple[int, str]:
    with transaction(db) as session:
        sender = session.scalars(select(User).where(User.username == "pheduyet")).one()
        draft = Draft(
            zone_ids=("thon-1",),
            reason="Lũ quét",
            title="Cảnh báo lũ",
            text="Nước sông lên nhanh.",
        )
        em = send_emergency(session, sender, draft, render=renderer, now=now)
        publish_emergency(session, em, commands, "http://127.0.0.1:8080")
        return em.id, occurrence_id(em)


def _heard(db: sessionmaker[Session], site: str, item_id: str, at: datetime) -> None:
    """The site's ``received`` event, as ingest stores it."""
    with transaction(db) as session:
        session.add(
            PlaybackEvent(
                id=str(uuid.uuid4()),
                site_id=site,
                outbox=str(uuid.uuid4()),
                seq=1,
                kind="received",
                at=at,
                item_id=item_id,
                detail="command received",
                received_at=at,
            )
        )


def _open_alerts(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return list(
            session.scalars(
                select(SiteAlert.site_id).where(
                    SiteAlert.kind == EMERGENCY_SILENT, SiteAlert.cleared_at.is_(None)
                )
            )
        )


def test_a_silent_site_gets_the_same_command_again_shows_red_and_raises_an_alert(
    app: Flask,
    client: FlaskClient,
    login: LoginFn,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    clock: FakeClock,
    webhook: Webhook,
) -> None:
    clock = FakeClock(FIXED_NOW)  # the scheduler's clock (the app's runs on the system clock)
    signer = Signer.generate()
    sent = MemoryPublisher()
    commands = CommandPublisher(signer, sent, TOPICS, clock)
    em_id, item_id = _send(db, renderer, commands, clock.now())
    ((_, original, *_),) = [m for m in sent.sent if m[0] == TOPICS.zone_cmd("thon-1")]
    first = Command.from_dict(Verifier([signer.public_b64]).open(original))
    sent.sent.clear()
    tracker = DeliveryTracker(
        db,
        signer,
        sent,
        TOPICS,
        clock,
        resend_after=timedelta(seconds=30),
        notifier=Notifier(webhook_url=webhook.url),
    )
    _heard(db, HEARD, item_id, clock.now() + timedelta(seconds=2))

    clock.advance(timedelta(seconds=10))
    done = tracker.run()
    assert done.confirmed == [(em_id, HEARD)] and done.resent == [] and sent.sent == []
    assert _open_alerts(db) == []

    clock.advance(timedelta(seconds=25))  # 35 s after the send: the silent site gets it again
    done = tracker.run()
    assert done.resent == [(em_id, SILENT)]
    ((topic, data, qos, retain),) = sent.sent
    assert (topic, qos, retain) == (TOPICS.site_cmd(SILENT), 1, False)
    again = Command.from_dict(Verifier([signer.public_b64]).open(data))
    assert again == first  # same id, seq, item and expiry: the agent acts on it once
    assert _open_alerts(db) == [SILENT]
    assert webhook.kinds("raised") == [(SILENT, EMERGENCY_SILENT)]
    assert "not confirmed (sent 2 times)" in webhook.bodies[0]["raised"][0]["detail"]

    assert tracker.run().resent == []  # not again before another 30 s
    clock.advance(timedelta(seconds=31))
    assert tracker.run().resent == [(em_id, SILENT)]
    assert len(webhook.bodies) == 1  # one alert, kept open, not sent again

    login("canbo")  # any officer may follow an emergency
    page = client.get(f"/emergency/{em_id}")
    assert page.status_code == 200
    silent_row = page.text.split(f'data-site="{SILENT}"')[1].split("</tr>")[0]
    heard_row = page.text.split(f'data-site="{HEARD}"')[1].split("</tr>")[0]
    assert silent_row.startswith(' class="row-silent"')
    assert "Chưa xác nhận: đã gửi lại lệnh" in silent_row and "Đã gửi 3 lần" in silent_row
    assert "row-silent" not in heard_row and "Đã nhận lệnh" in heard_row
    data = client.get(f"/emergency/{em_id}/status.json").get_json()
    assert {s["site"]: (s["stage"], s["silent"], s["sends"]) for s in data["sites"]} == {
        HEARD: ("delivered", False, 1),
        SILENT: ("silent", True, 3),
    }

    clock.advance(timedelta(minutes=10))  # the command expired: no more re-sends, still red
    sent.sent.clear()
    assert tracker.run().resent == [] and sent.sent == []
    assert _open_alerts(db) == [SILENT]

    _heard(db, SILENT, item_id, clock.now())  # the site answers at last (its outbox)
    done = tracker.run()
    assert done.confirmed == [(em_id, SILENT)]
    assert _open_alerts(db) == []
    assert webhook.kinds("cleared") == [(SILENT, EMERGENCY_SILENT)]
    with db() as session:
        rows = {r.site_id: r for r in session.scalars(select(EmergencyDelivery))}
    assert rows[SILENT].sends == 3 and rows[SILENT].confirmed_at == clock.now()
    assert rows[HEARD].sends == 1
    page = client.get(f"/emergency/{em_id}")
    assert "row-silent" not in page.text


def test_the_site_health_check_leaves_emergency_alerts_alone(
    app: Flask, db: sessionmaker[Session], renderer: FakeRenderer
) -> None:
    clock = FakeClock(FIXED_NOW)
    sent = MemoryPublisher()
    signer = Signer.generate()
    _send(db, renderer, CommandPublisher(signer, sent, TOPICS, clock), clock.now())
    tracker = DeliveryTracker(db, signer, sent, TOPICS, clock, resend_after=timedelta(seconds=5))
    clock.advance(timedelta(seconds=6))
    tracker.run()
    assert sorted(_open_alerts(db)) == sorted([HEARD, SILENT])
    check(db, Thresholds(), Notifier(), clock.now())  # its own kinds only
    assert sorted(_open_alerts(db)) == sorted([HEARD, SILENT])


def test_the_scheduler_runs_the_tracker_on_its_clock(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    clock = FakeClock(FIXED_NOW)
    settings = settings.replace(emergency_resend_after_s=12.0, emergency_check_interval_s=2.0)
    plans = PlanPublisher(
        signer=Signer.generate(), publisher=MemoryPublisher(), topics=TOPICS, horizon=timedelta(1)
    )
    runtime = SchedulerRuntime(settings, db, plans, clock)
    runtime.add_jobs()
    job = runtime.job(DELIVERY_JOB)
    assert job is not None and job.trigger.interval == timedelta(seconds=2)
    tracker = runtime.deliveries
    assert tracker is not None
    assert (tracker.clock, tracker.resend_after) == (clock, timedelta(seconds=12))
    assert tracker.signer is plans.signer and tracker.publisher is plans.publisher
