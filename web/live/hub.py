"""The live sessions this web process feeds: the streaming server's settings, the listeners'
password file, and for each session its feed (browser → ffmpeg → Icecast) and the announcing
of the session to the agents once its stream is up."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import requests

from broadcaster.config import Settings
from broadcaster.live.feed import LiveFeed
from broadcaster.live.icecast import ListenerPasswords
from schedules.live import LiveOptions

logger = logging.getLogger(__name__)

MOUNT_WAIT_S = 10.0


class LiveHub:
    """Bound to the app as ``app.extensions["live"]``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.passwords = ListenerPasswords(Path(settings.live_listeners_file))
        self.options = LiveOptions(
            public_url=settings.live_icecast_public_url,
            stall_s=settings.live_stall_s,
            max_s=settings.live_max_s,
        )
        self._lock = threading.Lock()
        self.feeds: dict[str, LiveFeed] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.settings.live_icecast_source_url and self.options.public_url)

    def open_feed(self, name: str, mount: str) -> LiveFeed:
        source = self.settings.live_icecast_source_url.rstrip("/") + mount
        feed = LiveFeed(source, Path(self.settings.live_dir) / f"{name}.ogg")
        feed.start()
        with self._lock:
            self.feeds[name] = feed
        return feed

    def drop_feed(self, name: str) -> None:
        with self._lock:
            self.feeds.pop(name, None)

    def wait_for_mount(self, mount: str, user: str, token: str, stop: threading.Event) -> bool:
        """True once the streaming server serves ``mount`` (the feed is connected)."""
        url = self.options.public_url.rstrip("/") + mount
        deadline = time.monotonic() + MOUNT_WAIT_S
        while time.monotonic() < deadline and not stop.is_set():
            try:
                with requests.get(url, auth=(user, token), stream=True, timeout=2) as answer:
                    if answer.status_code == 200:
                        return True
            except requests.RequestException:
                pass
            stop.wait(0.1)
        return False
