"""The web app in tests: the demo users' passwords, an app on the per-test database, the
``client`` and ``login`` fixtures, and serving the app on a free port in a thread for a browser.

The app reads "now" from its clock only: the suite's ``clock`` fixture (tests/support/clock.py).
The web folders import ``clock_start`` from here into their conftest: the system clock, for
tests whose data are relative to the app's now (and browser tests, whose pages use the browser's
own clock); a module whose data are pinned to a date overrides ``clock_start`` again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from audio.renderer import Renderer
from broadcaster.clock import Clock
from broadcaster.config import Settings
from broadcaster.db import transaction
from schedules.programme_import import import_demo
from web import create_app

PASSWORDS = {
    "bientap": "bientap123",
    "pheduyet": "pheduyet123",
    "canbo": "canbo1234",
    "quantri": "quantri123",
    # Each demo commune's own staff (schedules/demo_programme.yaml): Đắk Hà, Đắk Mar.
    **{f"bientap-{c}": "bientap123" for c in ("dh", "dm")},
    **{f"pheduyet-{c}": "pheduyet123" for c in ("dh", "dm")},
    **{f"canbo-{c}": "canbo1234" for c in ("dh", "dm")},
}


@contextmanager
def flask_app(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: Renderer,
    *,
    commune: bool = True,
    clock: Clock | None = None,
) -> Iterator[Flask]:
    """An app in TESTING mode without CSRF, after loading the demo commune unless told not to;
    its clock is ``clock`` (default: the system clock)."""
    if commune:
        with transaction(db) as session:
            import_demo(session)
    app = create_app(settings, renderer=renderer, sessions=db, clock=clock)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["broadcaster"].close()


class Login:
    """``login(username)`` posts the login form with the demo user's password."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def __call__(self, username: str) -> TestResponse:
        return self.client.post(
            "/login", data={"username": username, "password": PASSWORDS[username]}
        )


@pytest.fixture
def clock_start() -> None:
    """The system clock for the app (import into a conftest to use; see the docstring)."""
    return None


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client of the folder's ``app`` fixture (import into a conftest to use)."""
    with app.test_client() as c:
        yield c


@pytest.fixture
def login(client: FlaskClient) -> Login:
    """Log the client in as a demo user (import into a conftest to use)."""
    return Login(client)


@contextmanager
def serve(app: Flask, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with werkzeug on a free port of ``host`` in a thread; yields its base
    URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        """Closes the response when the browser drops the connection (it aborts range requests
        for audio): werkzeug's dev server then skips the close, and the open media file is a
        ResourceWarning at garbage collection, an error under pytest."""

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            body = (environ or {}).get("tests.response")
            if body is not None and hasattr(body, "close"):
                body.close()

    def tracked(environ: Any, start_response: Any) -> Any:
        body = app(environ, start_response)
        environ["tests.response"] = body
        return body

    server = make_server(host, 0, tracked, threaded=True, request_handler=Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
