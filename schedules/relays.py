"""Relay fallbacks: the stored message an agent plays when a relayed radio stream fails.

Every relay needs one before it goes into a plan (``PlanItem.media`` is required; for a stream
item it is the fallback). The message is the same for every relay, so it is rendered once and
the content-addressed store shares it; ``ensure_relay_fallbacks`` gives one to every relay that
has none (the scheduler calls it at start), and the programme import gives new relays one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.lexicon_store import load_lexicon
from audio.renderer import Renderer
from broadcaster.models import Media, Relay
from schedules.rendering import store_rendered

logger = logging.getLogger(__name__)

FALLBACK_TEXT = "Chương trình tiếp sóng tạm thời gián đoạn. Xin quý vị thông cảm."


def render_fallback(session: Session, render: Renderer) -> Media:
    """The fallback message as a stored Media row (said once; the admins' lexicon applies)."""
    rendered = render(FALLBACK_TEXT, repeat=1, lexicon=load_lexicon(session))
    return store_rendered(session, rendered)


def give_fallbacks(session: Session, relays: Iterable[Relay], render: Renderer) -> int:
    """Give each relay without a fallback the rendered message (rendered at most once);
    returns how many relays got one."""
    missing = [r for r in relays if r.fallback_sha256 is None]
    if not missing:
        return 0
    media = render_fallback(session, render)
    for relay in missing:
        relay.fallback = media
    session.flush()
    logger.info(
        "relay fallback %s.%s (%d ms) given to %s",
        media.sha256[:12],
        media.ext,
        media.duration_ms,
        ", ".join(r.name for r in missing),
    )
    return len(missing)


def ensure_relay_fallbacks(session: Session, render: Renderer) -> int:
    """Give every relay that has no fallback one; returns how many were given one."""
    relays = session.scalars(
        select(Relay).where(Relay.fallback_sha256.is_(None)).order_by(Relay.id)
    ).all()
    return give_fallbacks(session, relays, render)
