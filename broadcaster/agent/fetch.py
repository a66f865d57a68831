"""Media download and verification: nothing is played unless its sha256 matches the plan.

Files live in ``state_dir/media/<sha256>.<ext>``. A download goes to a temporary file in the same
folder and is renamed into place only after its hash checks out; a mismatch deletes it.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from broadcaster.wire.messages import Media, PlanItem

from .store import Store

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_BYTES = 200 * 1024 * 1024  # no announcement is this large; stops a runaway download


class MediaError(OSError):
    """Media could not be fetched or did not verify; the message says which and why."""

    def __init__(self, sha256: str, reason: str) -> None:
        self.sha256 = sha256
        self.reason = reason
        super().__init__(f"media {sha256[:12]}: {reason}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _extension(url: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix and suffix[1:].isalnum() and len(suffix) <= 6:
        return suffix
    return ".bin"


class MediaCache:
    """Fetches and verifies media files; safe to call from several threads."""

    def __init__(self, media_dir: Path, timeout_s: float, index: Store | None = None) -> None:
        self.media_dir = media_dir
        self.timeout_s = timeout_s
        self.index = index
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path_for(self, media: Media) -> Path:
        return self.media_dir / f"{media.sha256}{_extension(media.url)}"

    def cached(self, media: Media) -> Path | None:
        """The local file if it exists and its hash is right; a corrupt file is deleted."""
        path = self.path_for(media)
        if not path.exists():
            return None
        if file_sha256(path) == media.sha256:
            return path
        logger.warning("cached media %s is corrupt; deleting it", path.name)
        path.unlink(missing_ok=True)
        if self.index is not None:
            self.index.forget_media(media.sha256)
        return None

    def fetch(self, media: Media) -> Path:
        """Return a verified local path for ``media``, downloading it if needed."""
        with self._lock_for(media.sha256):
            path = self.cached(media)
            if path is not None:
                return path
            path = self._download(media)
            if self.index is not None:
                self.index.add_media(media.sha256, path, path.stat().st_size, datetime.now(UTC))
            return path

    def _lock_for(self, sha256: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def _download(self, media: Media) -> Path:
        target = self.path_for(media)
        fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=self.media_dir)
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                # The URL scheme is checked to be http(s) by Media.from_dict.
                with urllib.request.urlopen(media.url, timeout=self.timeout_s) as resp:  # noqa: S310
                    while chunk := resp.read(CHUNK):
                        size += len(chunk)
                        if size > MAX_BYTES:
                            raise MediaError(media.sha256, f"larger than {MAX_BYTES} bytes")
                        digest.update(chunk)
                        out.write(chunk)
            actual = digest.hexdigest()
            if actual != media.sha256:
                raise MediaError(
                    media.sha256, f"sha256 mismatch (got {actual[:12]}) from {media.url}"
                )
            os.replace(tmp, target)
        except MediaError:
            raise
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise MediaError(media.sha256, f"download failed from {media.url}: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        logger.info("fetched media %s (%d bytes)", target.name, size)
        return target


class Prefetcher:
    """A thread that fetches the media of upcoming items as soon as a plan arrives."""

    def __init__(
        self,
        cache: MediaCache,
        upcoming: Callable[[], list[PlanItem]],
        stop: threading.Event,
        retry_s: float = 30.0,
    ) -> None:
        self.cache = cache
        self.upcoming = upcoming
        self.stop = stop
        self.retry_s = retry_s
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Look at the plan again now (called when a new plan is accepted)."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 5.0) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            failures = 0
            try:
                failures = self.fetch_all()
            except Exception:
                logger.exception("prefetch pass failed")
                failures = 1
            self._wake.wait(self.retry_s if failures else 3600)
            self._wake.clear()

    def fetch_all(self) -> int:
        """Fetch every upcoming item's media, soonest first; return how many failed."""
        failures = 0
        seen: set[str] = set()
        for item in self.upcoming():
            if self.stop.is_set():
                break
            if item.media.sha256 in seen:
                continue
            seen.add(item.media.sha256)
            try:
                self.cache.fetch(item.media)
            except MediaError as exc:
                failures += 1
                logger.warning("prefetch for item %s failed: %s", item.id, exc)
        return failures
