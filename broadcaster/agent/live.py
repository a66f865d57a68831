"""Live sessions on the agent: a signed ``live`` command becomes a play-now item that the runner
plays like any other (amplifier relay, priority, stop, events), except that its sound is the
session's stream, read from the URL and with the login named in the command, and nothing else.

The stream has no stored fallback: when it ends without a ``stop`` command, or sends nothing
for the command's ``stall_s`` seconds, playback stops and the item is logged ``interrupted``
with why (``live stream lost: …``)."""

from __future__ import annotations

import logging
import threading

from broadcaster.wire.live import LiveStream
from broadcaster.wire.plan import Media, PlanItem

from .players import FINISHED, INTERRUPTED, Player, PlayerError, StreamError

logger = logging.getLogger(__name__)

# A live item has no file: the runner never fetches media for it (this is never on the wire).
NO_MEDIA = Media(sha256="0" * 64, url="http://localhost/", size=0, duration_ms=0)


def live_item(live: LiveStream) -> PlanItem:
    """The play-now item standing for the live session in the runner and in events."""
    return PlanItem(
        id=live.item_id,
        start=live.start,
        title=live.title,
        announcement_id=live.announcement_id,
        priority=live.priority,
        media=NO_MEDIA,
    )


def play_live(
    player: Player, live: LiveStream, stop: threading.Event, label: str
) -> tuple[str, str]:
    """Play the session's stream until ``stop``; returns (outcome, note). A lost or stalled
    stream is (INTERRUPTED, "live stream lost: …")."""
    play = getattr(player, "play_live", None)
    if play is None:
        raise PlayerError(f"{type(player).__name__} cannot play live streams")
    try:
        outcome: str = play(
            live.login_url(), stop, stall_s=live.stall_s, max_s=live.max_s, label=label
        )
    except StreamError as exc:
        logger.warning("live session %s: stream lost: %s", live.session, exc)
        return INTERRUPTED, f"live stream lost: {exc}"
    if outcome == FINISHED:
        return FINISHED, f"live session reached its limit of {live.max_s} s"
    return outcome, ""
