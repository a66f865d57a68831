"""Rendered audio into the database: the one place a ``Media`` row is made for stored audio.

The renderer (``audio.renderer``) or ``audio.recordings.master_recording`` puts the file in the
content-addressed store; :func:`store_rendered` records it, once per content hash, for the
workflow, emergencies, relay fallbacks and recorded versions.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from audio.render import Rendered
from broadcaster.models import Media


def store_rendered(session: Session, rendered: Rendered) -> Media:
    """The Media row for ``rendered``: the existing one for the same content, else a new one."""
    media = session.get(Media, rendered.sha256)
    if media is None:
        media = Media(
            sha256=rendered.sha256,
            ext=rendered.ext,
            size=rendered.size,
            duration_ms=rendered.duration_ms,
        )
        session.add(media)
        session.flush()
    return media
