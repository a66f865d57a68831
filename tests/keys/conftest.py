"""The key page's tests: the web fixtures (an app with the demo commune) on a real Mosquitto,
with the server's key file in the test's directory; the agent tests' rig for a real agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.clock import Clock
from broadcaster.config import Settings
from tests.agent.conftest import media_server, rig, tone_mp3  # noqa: F401  (fixtures)
from tests.support.webapp import flask_app
from tests.web.conftest import (  # noqa: F401  (fixtures reused from the web tests)
    FakeRenderer,
    auth,
    client,
    clock_start,
    pytest_runtest_makereport,
    renderer,
    sample_mp3,
)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """The server's signing key file (made on first use)."""
    return tmp_path / "keys" / "signing-key.pem"


@pytest.fixture
def started_broker(broker: PrivateBroker) -> PrivateBroker:
    broker.start()
    return broker


@pytest.fixture
def app(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,  # noqa: F811
    clock: Clock,  # noqa: F811
    started_broker: PrivateBroker,
    key_file: Path,
) -> Iterator[Flask]:
    s = settings.replace(**started_broker.server_mqtt(), signing_key_file=str(key_file))
    with flask_app(s, db, renderer, clock=clock) as app:
        yield app
