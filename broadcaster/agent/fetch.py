"""Media download and verification: nothing is played unless its sha256 matches the plan.

Files live in ``state_dir/media/<sha256>.<ext>``. A download goes to ``.<sha256>.<ext>.part`` in
the same folder and is renamed into place only after its hash checks out; a mismatch deletes it.
A download cut off (a dropped link, a timeout, a restart) keeps its part file, and the next try
asks for the rest with ``Range: bytes=N-``: a ``206`` answer is appended, a ``200`` (a server
that ignores ranges) starts the file over. The URL names the bytes by their hash, so the part is
never from another version of the file. Every play re-hashes the file: a corrupt or truncated
one is deleted and fetched again, never played.

The cache is an LRU bounded in bytes (``max_bytes``): after each download the least recently
used files are deleted until the total fits, except those the plan still needs (``pinned``).
The :class:`Prefetcher` fetches what the plan needs within the horizon (48 h by default),
soonest first, and retries failures with exponential backoff.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from broadcaster.clock import Clock, SystemClock
from broadcaster.wire.files import PART_SUFFIX
from broadcaster.wire.plan import Media, PlanItem

from .store import Store, StoreError

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_BYTES = 200 * 1024 * 1024  # no announcement is this large; stops a runaway download
# ".<sha256>.<ext>.part": a download to resume. Other part files (atomic_writer's, with a random
# infix) are left by a crash of an older agent and are deleted at start.
RESUMABLE_PART = re.compile(rf"^\.(?P<sha>[0-9a-f]{{64}})\.[^.]{{1,5}}{re.escape(PART_SUFFIX)}$")
CONTENT_RANGE = re.compile(r"^bytes (?P<first>\d+)-(?P<last>\d+)/(?P<total>\d+|\*)$")


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

    def __init__(
        self,
        media_dir: Path,
        timeout_s: float,
        index: Store | None = None,
        *,
        max_bytes: int = 0,
        pinned: Callable[[], set[str]] = set,
        clock: Clock | None = None,
    ) -> None:
        self.media_dir = media_dir
        self.clock = clock or SystemClock()
        self.timeout_s = timeout_s
        self.index = index
        self.max_bytes = max_bytes  # 0: unbounded
        self.pinned = pinned  # sha256s the plan still needs: never evicted
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._evict_lock = threading.Lock()
        for stale in self.media_dir.glob(f".*{PART_SUFFIX}"):
            if not RESUMABLE_PART.match(stale.name):
                stale.unlink(missing_ok=True)

    def path_for(self, media: Media) -> Path:
        return self.media_dir / f"{media.sha256}{_extension(media.url)}"

    def part_path(self, media: Media) -> Path:
        """Where a download of ``media`` grows until it is complete and verified."""
        target = self.path_for(media)
        return target.with_name(f".{target.name}{PART_SUFFIX}")

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
                self.touch(media)
                return path
            path = self._download(media)
            if self.index is not None:
                try:
                    self.index.add_media(media.sha256, path, path.stat().st_size, self.clock.now())
                except StoreError:
                    pass  # the file is verified and plays; the store reports its own failure
        self.evict(keep={media.sha256})  # never the file this call returns
        return path

    def touch(self, media: Media) -> None:
        """Record a use (LRU order)."""
        if self.index is not None:
            try:
                self.index.touch_media(media.sha256, self.clock.now())
            except StoreError:
                pass  # only the LRU order; a cached item still plays when the store cannot write

    def total_bytes(self) -> int:
        if self.index is not None:
            return self.index.media_bytes()
        return sum(p.stat().st_size for p in self.media_dir.iterdir() if p.is_file())

    def evict(self, keep: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
        """Delete least recently used media until the cache fits ``max_bytes``; return the
        sha256s deleted. Media the plan still needs (and ``keep``) stays, even over budget."""
        if not self.max_bytes or self.index is None:
            return []
        with self._evict_lock:
            keep = set(keep) | self.pinned()
            self._drop_orphan_parts(keep)
            entries = self.index.media_lru()
            total = sum(size for _, _, size in entries)
            if total <= self.max_bytes:
                return []
            deleted: list[str] = []
            for sha, path, size in entries:
                if total <= self.max_bytes:
                    break
                if sha in keep:
                    continue
                with self._lock_for(sha):
                    path.unlink(missing_ok=True)
                    self.index.forget_media(sha)
                total -= size
                deleted.append(sha)
            if deleted:
                logger.info("cache over %d bytes: evicted %d file(s)", self.max_bytes, len(deleted))
            if total > self.max_bytes:
                logger.warning(
                    "media the plan needs (%d bytes) exceeds the cache budget %d",
                    total,
                    self.max_bytes,
                )
            return deleted

    def _drop_orphan_parts(self, keep: set[str]) -> None:
        """Delete part files of media no longer needed (not of a download in progress)."""
        for part in self.media_dir.glob(f".*{PART_SUFFIX}"):
            match = RESUMABLE_PART.match(part.name)
            if match is None or match["sha"] in keep:
                continue
            lock = self._lock_for(match["sha"])
            if lock.acquire(blocking=False):
                try:
                    part.unlink(missing_ok=True)
                finally:
                    lock.release()

    def _lock_for(self, sha256: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def _download(self, media: Media) -> Path:
        target, part = self.path_for(media), self.part_path(media)
        have = part.stat().st_size if part.exists() else 0
        if have >= media.size > 0:  # cut between the last byte and the rename, or too long
            if have == media.size and file_sha256(part) == media.sha256:
                os.replace(part, target)
                return target
            part.unlink(missing_ok=True)
            have = 0
        try:
            try:
                size = self._download_to(media, part, have)
            except urllib.error.HTTPError as exc:
                if exc.code != 416 or not have:
                    raise
                # 416: the part is no prefix of the file (longer than it, say); start over
                logger.warning("server refused range %d- for %s; starting over", have, part.name)
                part.unlink(missing_ok=True)
                size = self._download_to(media, part, 0)
        except MediaError:
            raise
        except (OSError, ValueError, http.client.HTTPException) as exc:
            kept = part.stat().st_size if part.exists() else 0
            logger.warning("download of %s cut at %d bytes: %s", target.name, kept, exc)
            raise MediaError(media.sha256, f"download failed from {media.url}: {exc}") from None
        actual = file_sha256(part)
        if actual != media.sha256:
            part.unlink(missing_ok=True)
            raise MediaError(media.sha256, f"sha256 mismatch (got {actual[:12]}) from {media.url}")
        # Only a complete file with the right hash takes the name (cached() checks it again).
        os.replace(part, target)
        logger.info("fetched media %s (%d bytes)", target.name, size)
        return target

    def _download_to(self, media: Media, part: Path, have: int) -> int:
        """Download ``media`` into ``part``, asking for the bytes after the first ``have`` ones
        already there; return the file's size. A cut leaves what arrived in ``part``."""
        # The URL scheme is checked to be http(s) by Media.from_dict.
        request = urllib.request.Request(media.url)  # noqa: S310
        if have:
            request.add_header("Range", f"bytes={have}-")
        with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:  # noqa: S310
            offset = _body_offset(resp, have)
            if offset is None:  # a range we did not ask for: the part is no help
                part.unlink(missing_ok=True)
                raise MediaError(
                    media.sha256,
                    f"asked for bytes {have}- and got {resp.headers.get('Content-Range')!r}",
                )
            if offset:
                logger.info("resuming %s at byte %d", media.sha256, offset)
            elif have:
                logger.info("server sent all of %s again; starting over", media.sha256)
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if offset else os.O_TRUNC)
            size = offset
            with os.fdopen(os.open(part, flags, 0o600), "wb") as out:
                # read1: whatever has arrived, so a cut keeps all that was received
                while chunk := resp.read1(CHUNK):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        part.unlink(missing_ok=True)
                        raise MediaError(media.sha256, f"larger than {MAX_BYTES} bytes")
                    out.write(chunk)
            if resp.length:  # the connection ended short of Content-Length (read1 does not say)
                raise http.client.IncompleteRead(b"", resp.length)
        return size


def _body_offset(resp: http.client.HTTPResponse, have: int) -> int | None:
    """Where the response's body starts in the file: 0 for a whole file (200), ``have`` for a
    206 that continues the part, None for a 206 of some other range."""
    if resp.status != 206:
        return 0
    match = CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
    if match is None or int(match["first"]) != have:
        return None
    return have


class Prefetcher:
    """A thread that fetches the media of upcoming items as soon as a plan arrives.

    Only items starting within ``horizon_s`` are fetched. After a pass with failures it waits
    ``retry_s`` and doubles that (up to ``max_retry_s``); a clean pass or a new plan resets it.
    """

    def __init__(
        self,
        cache: MediaCache,
        upcoming: Callable[[], list[PlanItem]],
        stop: threading.Event,
        retry_s: float = 30.0,
        *,
        max_retry_s: float = 600.0,
        horizon_s: float = 48 * 3600.0,
        clock: Clock | None = None,
        on_error: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.cache = cache
        self.upcoming = upcoming
        self.stop = stop
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self.horizon_s = horizon_s
        self.clock = clock or SystemClock()
        self.on_error = on_error
        self.delay_s = retry_s
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Look at the plan again now (called when a new plan is accepted)."""
        self.delay_s = self.retry_s
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 5.0) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self.stop.is_set():
            failures = 0
            try:
                failures = self.fetch_all()
            except Exception as exc:
                logger.exception("prefetch pass failed")
                self.on_error(f"prefetch: {exc}")
                failures = 1
            self._wake.wait(self.next_wait(failures))
            self._wake.clear()

    def next_wait(self, failures: int) -> float:
        """Seconds until the next pass: the backoff after failures (doubling each time), else
        until the next item enters the horizon."""
        if failures:
            wait = self.delay_s
            self.delay_s = min(self.delay_s * 2, self.max_retry_s)
            logger.info("prefetch: %d failure(s); next try in %.0f s", failures, wait)
            return wait
        self.delay_s = self.retry_s
        return self._until_next_in_horizon()

    def _until_next_in_horizon(self) -> float:
        """Seconds until the next item beyond the horizon enters it (at most an hour)."""
        limit = self.clock.now() + timedelta(seconds=self.horizon_s)
        later = [i.start for i in self.upcoming() if i.start > limit]
        if not later:
            return 3600.0
        return max(1.0, min(3600.0, (min(later) - limit).total_seconds()))

    def needed(self) -> list[PlanItem]:
        """Upcoming items within the horizon, soonest first."""
        limit = self.clock.now() + timedelta(seconds=self.horizon_s)
        return [i for i in self.upcoming() if i.start <= limit]

    def fetch_all(self) -> int:
        """Fetch every upcoming item's media within the horizon, soonest first; return how many
        failed."""
        failures = 0
        seen: set[str] = set()
        for item in self.needed():
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
                self.on_error(f"prefetch for item {item.id} failed: {exc.reason}")
        self.cache.evict()  # what the previous plan needed may go now
        return failures
