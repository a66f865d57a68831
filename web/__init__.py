"""The Flask web app: UI for editors, approvers and officers, and the media endpoint for agents.

``create_app`` builds one app with its services bound in ``app.extensions["broadcaster"]``;
``broadcaster serve`` calls it once and hands it to waitress.
"""

from __future__ import annotations

import logging
import os
import secrets

from flask import Flask
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from audio.renderer import Renderer, make_renderer
from audio.store import MediaStore
from broadcaster.clock import Clock, SystemClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory
from web.services import Services, close_db

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    renderer: Renderer | None = None,
    sessions: sessionmaker[Session] | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build the app. Without ``settings``, load them from ``$BROADCASTER_CONFIG`` and the
    environment; without ``sessions``, open an engine on ``settings.database_url`` (the caller
    migrates the database first); without ``renderer``, use the configured TTS engine; without
    ``clock``, read the system clock."""
    if settings is None:
        settings = Settings.load(os.environ.get("BROADCASTER_CONFIG"))
    app = Flask(__name__)

    settings.validate_secrets()  # settings made with replace() were not validated
    secret = settings.secret_key
    if not secret:
        logger.warning(
            "secret_key is not set: using a random one, so logins end when the server restarts"
        )
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
    )

    engine = None
    if sessions is None:
        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
    app.extensions["broadcaster"] = Services(
        settings=settings,
        sessions=sessions,
        renderer=renderer if renderer is not None else make_renderer(settings),
        media=MediaStore(settings.media_dir),
        engine=engine,
        clock=clock if clock is not None else SystemClock(),
    )
    app.teardown_appcontext(close_db)

    from web import errors, headers, i18n, limits, navigation, security
    from web.announcements import waiting
    from web.metrics import routes as metrics

    limits.init_app(app, settings)  # before any route: the id converter
    i18n.init_app(app, settings)
    security.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    waiting.init_app(app)
    navigation.init_app(app)

    from web.announcements.routes import bp as announcements_bp
    from web.api.routes import bp as api_bp
    from web.auth.routes import bp as auth_bp
    from web.bulletins.routes import bp as bulletins_bp
    from web.calendar.routes import bp as calendar_bp
    from web.campaigns.routes import bp as campaigns_bp
    from web.emergency.routes import bp as emergency_bp
    from web.health.routes import bp as health_bp
    from web.keys.routes import bp as keys_bp
    from web.lexicon.routes import bp as lexicon_bp
    from web.listen.routes import bp as listen_bp
    from web.live.hub import LiveHub
    from web.live.routes import bp as live_bp
    from web.logs.routes import bp as logs_bp
    from web.media.routes import bp as media_bp
    from web.places.routes import bp as places_bp
    from web.recordings.routes import bp as recordings_bp
    from web.reports.routes import bp as reports_bp
    from web.schedule.routes import bp as schedule_bp
    from web.slots.routes import bp as slots_bp
    from web.today.routes import bp as today_bp
    from web.tokens.routes import bp as tokens_bp
    from web.units.routes import bp as units_bp
    from web.users.routes import bp as users_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(announcements_bp)
    app.register_blueprint(schedule_bp)
    app.register_blueprint(logs_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(recordings_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(emergency_bp)
    app.register_blueprint(bulletins_bp)
    app.register_blueprint(lexicon_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(today_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(places_bp)
    app.register_blueprint(slots_bp)
    app.register_blueprint(live_bp)
    app.register_blueprint(listen_bp)
    app.register_blueprint(keys_bp)
    app.extensions["live"] = LiveHub(settings)
    app.register_blueprint(units_bp)
    app.add_url_rule("/", "index", _index)
    return app


def _index() -> ResponseReturnValue:
    from flask import redirect, url_for
    from flask_login import current_user

    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("today.index"))
