"""The web's /metrics in one process (``broadcaster web``/``serve``): off without a token,
refused with a wrong one; sites by state and emergency deliveries read from the database when
scraped; the request counter moves. Under gunicorn: tests/ops/test_gunicorn.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.models import Announcement, Emergency, EmergencyDelivery, Site, User
from schedules.programme_import import import_demo
from tests.ops.conftest import samples, total
from tests.support.clock import FIXED_NOW
from web import create_app

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def client_for(settings: Settings, db: sessionmaker[Session]) -> Iterator[FlaskClient]:
    app = create_app(settings, sessions=db)
    try:
        yield app.test_client()
    finally:
        app.extensions["broadcaster"].close()


@pytest.fixture
def client(settings: Settings, db: sessionmaker[Session]) -> Iterator[FlaskClient]:
    yield from client_for(settings.replace(metrics_token=TOKEN), db)


def test_metrics_are_off_without_a_token(settings: Settings, db: sessionmaker[Session]) -> None:
    for c in client_for(settings, db):
        assert c.get("/metrics", headers=BEARER).status_code == 404


def test_a_wrong_token_is_refused(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_sites_and_emergency_deliveries_are_read_when_scraped(
    settings: Settings, any_db_url: str
) -> None:
    engine = make_engine(any_db_url)
    try:
        for client in client_for(settings.replace(metrics_token=TOKEN), session_factory(engine)):
            _check_database_gauges(client, session_factory(engine))
    finally:
        engine.dispose()


def _check_database_gauges(client: FlaskClient, db: sessionmaker[Session]) -> None:
    with transaction(db) as session:
        import_demo(session)
    with db() as session:
        sites = len(session.scalars(select(Site)).all())
    assert sites > 0
    page = samples(client.get("/metrics", headers=BEARER).text)
    assert total(page, "broadcaster_sites", state="unknown") == sites
    assert total(page, "broadcaster_sites", state="online") == 0
    assert total(page, "broadcaster_emergency_deliveries") == 0

    with transaction(db) as session:
        for site_id, state in (("dai-xa", "online"), ("cum-loa-t1", "online")):
            session.get(Site, site_id).state = state
        session.get(Site, "cum-loa-t2").state = "offline"
        sender = session.scalars(select(User).where(User.username == "pheduyet")).one()
        ann = Announcement(title="Cảnh báo lũ", body="Nước lên nhanh.", author_id=sender.id)
        session.add(ann)
        session.flush()
        em = Emergency(announcement_id=ann.id, reason="Lũ quét", sent_by_id=sender.id)
        session.add(em)
        session.flush()
        at = FIXED_NOW
        session.add_all(
            [
                EmergencyDelivery(
                    emergency_id=em.id,
                    site_id="dai-xa",
                    sent_at=at,
                    last_sent_at=at,
                    confirmed_at=at,
                ),
                EmergencyDelivery(
                    emergency_id=em.id,
                    site_id="cum-loa-t1",
                    sent_at=at,
                    last_sent_at=at,
                    silent_since=at,
                ),
                EmergencyDelivery(
                    emergency_id=em.id, site_id="cum-loa-t2", sent_at=at, last_sent_at=at
                ),
            ]
        )
    r = client.get("/metrics", headers=BEARER)
    assert r.status_code == 200 and r.mimetype == "text/plain"
    page = samples(r.text)
    assert total(page, "broadcaster_sites", state="online") == 2
    assert total(page, "broadcaster_sites", state="offline") == 1
    assert total(page, "broadcaster_sites", state="unknown") == sites - 3
    for state in ("confirmed", "silent", "pending"):
        assert total(page, "broadcaster_emergency_deliveries", state=state) == 1


def test_the_request_counter_moves(client: FlaskClient) -> None:
    def scraped() -> float:
        page = samples(client.get("/metrics", headers=BEARER).text)
        return total(page, "broadcaster_web_requests_total", endpoint="auth.login", status="200")

    before = scraped()
    for _ in range(3):
        assert client.get("/login").status_code == 200
    assert scraped() == before + 3
