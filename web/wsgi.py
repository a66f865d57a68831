"""The WSGI entry for gunicorn behind nginx: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``.

Settings come from ``$BROADCASTER_CONFIG`` and ``BROADCASTER_*`` variables, as for the CLI; the
database is migrated beforehand (``broadcaster db upgrade``, the unit's ExecStartPre). Each
gunicorn worker imports this module after the fork (no preload), so its database pool and its
MQTT link (made on first use: a clean session under ``broadcaster.mqtt.unique_client_id``) are
its own.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from broadcaster.config import Settings
from web import create_app


def build(settings: Settings) -> Flask:
    """The app for one worker, trusting one proxy (nginx) for the client's address and scheme."""
    # Without it each worker would pick its own random key: a login or a form made on one
    # worker would be refused by the next.
    flask_app = create_app(settings.require_web_secret())
    flask_app.wsgi_app = ProxyFix(flask_app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    return flask_app


app = build(Settings.load(os.environ.get("BROADCASTER_CONFIG")))
