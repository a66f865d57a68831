"""The feed of one live session: the browser's WebM/Opus chunks go into ffmpeg, which sends
them on to Icecast as Ogg/Opus (no re-encoding: the Opus packets are copied) and keeps the same
audio in an archive file.

Ogg pages are cut every 100 ms and flushed at once, so a listener is one page behind the
microphone, not a second (ffmpeg's default page)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PAGE_DURATION_US = 100_000


class FeedError(RuntimeError):
    """The feed's ffmpeg is gone (Icecast refused the source, or it crashed)."""


class LiveFeed:
    """One ffmpeg per session. ``write`` chunks as they arrive; ``close`` ends the stream
    (Icecast then ends every listener's); ``cut`` kills it as a lost connection would."""

    def __init__(self, source_url: str, archive: Path, *, ffmpeg: str = "ffmpeg") -> None:
        self.source_url = source_url
        self.archive = archive
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg
        self.log_path = archive.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.bytes_in = 0
        self.last_chunk_at: float | None = None  # monotonic
        self._lock = threading.Lock()

    def command(self) -> list[str]:
        copy = ["-map", "0:a", "-c:a", "copy", "-f", "ogg", "-page_duration", str(PAGE_DURATION_US)]
        return [
            self.ffmpeg,
            "-hide_banner",
            "-loglevel",
            "warning",
            "-fflags",
            "nobuffer",
            "-analyzeduration",
            "0",
            "-f",
            "webm",
            "-i",
            "pipe:0",
            *copy,
            "-flush_packets",
            "1",
            "-content_type",
            "audio/ogg",
            self.source_url,
            *copy,
            str(self.archive),
        ]

    def start(self) -> None:
        self.archive.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.PIPE, stdout=log, stderr=log
            )
        except OSError as exc:
            raise FeedError(f"cannot start {self.ffmpeg}: {exc}") from None
        finally:
            log.close()

    def write(self, chunk: bytes) -> None:
        proc = self.process
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise FeedError(f"the feed's ffmpeg is not running: {self.log()}")
        with self._lock:
            try:
                proc.stdin.write(chunk)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise FeedError(
                    f"the feed's ffmpeg refused a chunk ({exc}): {self.log()}"
                ) from None
            self.bytes_in += len(chunk)
            self.last_chunk_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self, timeout: float = 10.0) -> int | None:
        """End of the microphone: ffmpeg finishes the archive and leaves Icecast."""
        proc = self.process
        if proc is None:
            return None
        with self._lock:
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def cut(self) -> None:
        """Kill ffmpeg at once (a dropped connection, a crash): listeners see the stream end."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace").strip()[-500:]
        except OSError:
            return ""
