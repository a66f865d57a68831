"""The services an app instance uses, bound in ``app.extensions["broadcaster"]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.config import Settings

if TYPE_CHECKING:
    from audio.render import Rendered
    from audio.store import MediaStore


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    renderer: Callable[[str], Rendered]
    media: MediaStore
    engine: Engine | None = None  # set when create_app opened it; close() disposes it

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def services() -> Services:
    svc: Services = current_app.extensions["broadcaster"]
    return svc


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
