"""Players: how an agent turns a verified media file into sound (or into a WAV file).

``Player.play`` blocks until the file has played ("finished") or ``stop`` was set
("interrupted"), and raises :class:`PlayerError` when playback fails.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
import time
import wave
from datetime import datetime
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

FINISHED = "finished"
INTERRUPTED = "interrupted"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PlayerError(RuntimeError):
    """Playback of a file failed; the message names the file and the cause."""


class Player(Protocol):
    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        """Play ``path``; ``label`` (the plan item id) names the output where that applies."""
        ...


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class MpvPlayer:
    """Plays through the sound card with mpv; terminates mpv when asked to stop."""

    def __init__(self, binary: str = "mpv", poll_s: float = 0.1) -> None:
        self.binary = shutil.which(binary) or binary
        self.poll_s = poll_s

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        cmd = [self.binary, "--no-video", "--really-quiet", "--no-terminal", str(path)]
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise PlayerError(f"cannot start {self.binary}: {exc}") from None
        with proc:
            while proc.poll() is None:
                if stop.wait(self.poll_s):
                    _terminate(proc)
                    return INTERRUPTED
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        if proc.returncode != 0:
            raise PlayerError(f"mpv exited with {proc.returncode} for {path.name}: {err[-300:]}")
        return FINISHED


class FilePlayer:
    """Decodes each file to ``output_dir/<local time>_<label>.wav`` with ffmpeg, then waits the
    media's real duration (interruptible), so timing behaves like a speaker."""

    def __init__(self, output_dir: Path, ffmpeg: str = "ffmpeg") -> None:
        self.output_dir = output_dir
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg
        self.output_dir.mkdir(parents=True, exist_ok=True)

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        began = time.monotonic()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # local time, like a wall clock
        name = f"{stamp}_{_SAFE.sub('-', label or path.stem)}.wav"
        out = self.output_dir / name
        part = self.output_dir / f".{name}.part"
        cmd = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        cmd += ["-i", str(path), "-f", "wav", str(part)]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            part.unlink(missing_ok=True)
            raise PlayerError(f"ffmpeg could not decode {path.name}: {exc}") from None
        if result.returncode != 0:
            part.unlink(missing_ok=True)
            err = result.stderr.decode(errors="replace").strip()[-300:]
            raise PlayerError(f"ffmpeg could not decode {path.name}: {err}")
        part.replace(out)
        with wave.open(str(out), "rb") as w:
            duration = w.getnframes() / float(w.getframerate() or 1)
        logger.info("wrote %s (%.2f s)", out.name, duration)
        remaining = duration - (time.monotonic() - began)
        if remaining > 0 and stop.wait(remaining):
            return INTERRUPTED
        return FINISHED
