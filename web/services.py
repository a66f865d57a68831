"""The services an app instance uses, bound in ``app.extensions["broadcaster"]``."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import Clock, SystemClock
from broadcaster.config import Settings

if TYPE_CHECKING:
    from audio.renderer import Renderer
    from audio.store import MediaStore
    from broadcaster.commands import CommandPublisher
    from broadcaster.mqtt import Link

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    renderer: Renderer
    media: MediaStore
    engine: Engine | None = None  # set when create_app opened it; close() disposes it
    clock: Clock = field(default_factory=SystemClock)  # every "now" of the web app reads it
    # Play-now commands (emergencies): a CommandPublisher over this process's own MQTT
    # connection, made on first use; tests may set one over an in-memory publisher.
    command_publisher: CommandPublisher | None = None
    mqtt: Link | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def commands(self) -> CommandPublisher:
        """The process's CommandPublisher; connects to the broker on first use."""
        with self._lock:
            if self.command_publisher is None:
                from broadcaster.commands import CommandPublisher
                from broadcaster.keys import following_signer
                from broadcaster.mqtt import Link, unique_client_id
                from broadcaster.wire.topics import Topics

                # Publishes only: a clean session under an id of this process's own.
                conn = Link(self.settings.mqtt_options(), unique_client_id("web"))
                conn.start(wait=5.0)
                self.mqtt = conn
                self.command_publisher = CommandPublisher(
                    following_signer(self.settings.signing_key_file),
                    conn,
                    Topics(self.settings.topic_root),
                    self.clock,
                )
                logger.info("web process connected to MQTT for commands")
            return self.command_publisher

    def close(self) -> None:
        with self._lock:
            if self.mqtt is not None:
                self.mqtt.stop()
                self.mqtt = None
                self.command_publisher = None
        if self.engine is not None:
            self.engine.dispose()


def services() -> Services:
    svc: Services = current_app.extensions["broadcaster"]
    return svc


def now() -> datetime:
    """The current time (aware UTC) by the app's clock."""
    return services().clock.now()


def db() -> Session:
    """This request's database session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = services().sessions()
    session: Session = g.db
    return session


def close_db(_exc: Any = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
