"""Players: how an agent turns a verified media file into sound (or into a WAV file).

``Player.play`` blocks until the file has played ("finished") or ``stop`` was set
("interrupted"), and raises :class:`PlayerError` when playback fails.

Players may also relay a live HTTP stream for a fixed time (``play_stream``); they raise
:class:`StreamError` (with how long the stream played) when it cannot be opened or drops early,
and the runner then plays the item's stored fallback.

``play_live`` plays a live session's stream (``broadcaster.agent.live``) until ``stop`` is set,
the stream ends, or no audio came for ``stall_s`` seconds (:class:`StreamError` for the last two),
or ``max_s`` passed (finished). It reads as fast as audio arrives, so nothing piles up between
the microphone and the speaker.

* ``IdleMpvPlayer`` (``mpv_ipc.py``): one mpv kept running, driven over IPC (the default).
* ``MpvPlayer``: an mpv launch per file or stream (``IdleMpvPlayer`` relays streams with it).
* ``AplayPlayer``: ffmpeg decodes to WAV on a pipe into ``aplay`` (ALSA only, no mpv needed).
* ``FilePlayer``: writes WAV files instead of sound (demo, tests), timed like a speaker.
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


class StreamError(PlayerError):
    """A stream could not be opened, or ended ``played_s`` seconds in, before its duration."""

    def __init__(self, message: str, played_s: float = 0.0) -> None:
        super().__init__(message)
        self.played_s = played_s


STREAM_SLACK_S = 2.0  # a stream that ends this close to its duration counts as complete
STREAM_TIMEOUT_S = 10.0  # connect/read timeout for streams


class Player(Protocol):
    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        """Play ``path``; ``label`` (the plan item id) names the output where that applies."""
        ...


def _stamped(output_dir: Path, label: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # local time, like a wall clock
    return f"{stamp}_{_SAFE.sub('-', label)}.wav"


def _spawn(cmd: list[str], error: type[Exception]) -> subprocess.Popen[bytes]:
    """Start a player process (stderr kept for the error message), or raise ``error``."""
    try:
        return subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise error(f"cannot start {cmd[0]}: {exc}") from None


def _watch(
    proc: subprocess.Popen[bytes], stop: threading.Event, poll_s: float, limit_s: float | None
) -> str:
    """Wait for ``proc``; terminate it when ``stop`` is set (INTERRUPTED) or after ``limit_s``."""
    began = time.monotonic()
    while proc.poll() is None:
        if stop.wait(poll_s):
            _terminate(proc)
            return INTERRUPTED
        if limit_s is not None and time.monotonic() - began >= limit_s:
            _terminate(proc)
            return FINISHED
    return FINISHED


def _stream_outcome(
    name: str, proc: subprocess.Popen[bytes], outcome: str, began: float, duration_s: float
) -> str:
    played = time.monotonic() - began
    if outcome == INTERRUPTED:
        return INTERRUPTED
    err = proc.stderr.read().decode(errors="replace").strip()[-300:] if proc.stderr else ""
    return _judge_stream(name, proc.returncode, err, played, duration_s)


def _live_outcome(
    name: str, proc: subprocess.Popen[bytes], outcome: str, began: float, max_s: float
) -> str:
    """A live stream ends only by ``stop`` or ``max_s``; any other end is a StreamError."""
    played = time.monotonic() - began
    if outcome == INTERRUPTED or played >= max_s:
        return outcome
    err = proc.stderr.read().decode(errors="replace").strip()[-300:] if proc.stderr else ""
    why = f"{name} exited with {proc.returncode}" + (f": {err}" if err else "")
    raise StreamError(f"live stream ended after {played:.1f} s ({why})", played)


def _live_input(url: str, stall_s: float) -> list[str]:
    """ffmpeg's input options for a live stream: no probing delay, a read timeout of
    ``stall_s`` (a stream that sends nothing that long fails)."""
    return [
        "-fflags",
        "nobuffer",
        "-probesize",
        "32768",
        "-analyzeduration",
        "0",
        "-rw_timeout",
        str(int(stall_s * 1e6)),
        "-i",
        url,
    ]


def _judge_stream(name: str, code: int | None, err: str, played: float, duration_s: float) -> str:
    """A failed exit before the end, or an end well before the duration, is a StreamError."""
    if code not in (0, None) and played < duration_s:
        raise StreamError(f"{name} exited with {code}: {err}", played)
    if played < duration_s - min(STREAM_SLACK_S, duration_s / 10):
        raise StreamError(f"stream ended after {played:.1f} s of {duration_s:.1f} s", played)
    return FINISHED


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then a second one: ffmpeg lets its first signal wait for a blocking network
    read to return (seconds on a stalled stream) and breaks off on the second, still closing
    its output properly; then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(0.2)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class MpvPlayer:
    """Plays through the sound card with mpv; terminates mpv when asked to stop."""

    def __init__(
        self, binary: str = "mpv", poll_s: float = 0.1, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.binary = shutil.which(binary) or binary
        self.poll_s = poll_s
        self.extra_args = extra_args  # e.g. ("--ao=null",) in tests, ("--audio-device=…",)

    def _command(self) -> list[str]:
        return [self.binary, "--no-video", "--really-quiet", "--no-terminal", *self.extra_args]

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        with _spawn([*self._command(), str(path)], PlayerError) as proc:
            if _watch(proc, stop, self.poll_s, None) == INTERRUPTED:
                return INTERRUPTED
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        if proc.returncode != 0:
            raise PlayerError(f"mpv exited with {proc.returncode} for {path.name}: {err[-300:]}")
        return FINISHED

    def play_stream(
        self, url: str, duration_s: float, stop: threading.Event, *, label: str = ""
    ) -> str:
        cmd = self._command()
        cmd += [f"--network-timeout={STREAM_TIMEOUT_S:.0f}", f"--length={duration_s:.3f}", url]
        began = time.monotonic()
        with _spawn(cmd, StreamError) as proc:
            outcome = _watch(proc, stop, self.poll_s, duration_s + STREAM_TIMEOUT_S)
            return _stream_outcome("mpv", proc, outcome, began, duration_s)

    def play_live(
        self, url: str, stop: threading.Event, *, stall_s: float, max_s: float, label: str = ""
    ) -> str:
        cmd = self._command()
        cmd += [f"--network-timeout={stall_s:.0f}", "--cache=no"]
        cmd += ["--demuxer-lavf-o=fflags=+nobuffer", url]
        began = time.monotonic()
        with _spawn(cmd, StreamError) as proc:
            outcome = _watch(proc, stop, min(self.poll_s, 0.05), max_s)
            return _live_outcome("mpv", proc, outcome, began, max_s)


class AplayPlayer:
    """ffmpeg decodes to WAV on a pipe; aplay plays it on ALSA (``device`` e.g. "plughw:0")."""

    def __init__(
        self, device: str = "", ffmpeg: str = "ffmpeg", aplay: str = "aplay", poll_s: float = 0.1
    ) -> None:
        self.device = device
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg
        self.aplay = shutil.which(aplay) or aplay
        self.poll_s = poll_s

    def _pipeline(
        self, source: list[str], stop: threading.Event, limit_s: float | None
    ) -> tuple[str, int | None, str]:
        """Run ffmpeg | aplay; return (outcome, ffmpeg's exit code, ffmpeg's stderr)."""
        decode = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", *source]
        decode += ["-f", "wav", "-"]
        play = [self.aplay, "-q"] + (["-D", self.device] if self.device else []) + ["-"]
        try:
            dec = subprocess.Popen(
                decode, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise PlayerError(f"cannot start {self.ffmpeg}: {exc}") from None
        with dec:
            assert dec.stdout is not None
            try:
                out = subprocess.Popen(
                    play, stdin=dec.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            except OSError as exc:
                _terminate(dec)
                raise PlayerError(f"cannot start {self.aplay}: {exc}") from None
            dec.stdout.close()  # aplay holds the pipe now
            with out:
                outcome = _watch(out, stop, self.poll_s, limit_s)
                _terminate(dec)
                aplay_err = out.stderr.read().decode(errors="replace") if out.stderr else ""
            dec_err = dec.stderr.read().decode(errors="replace").strip() if dec.stderr else ""
        if outcome == FINISHED and out.returncode not in (0, None):
            raise PlayerError(f"aplay exited with {out.returncode}: {aplay_err.strip()[-300:]}")
        return outcome, dec.returncode, dec_err[-300:]

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        outcome, code, err = self._pipeline(["-i", str(path)], stop, None)
        if outcome == FINISHED and code != 0:
            raise PlayerError(f"ffmpeg could not decode {path.name}: {err}")
        return outcome

    def play_stream(
        self, url: str, duration_s: float, stop: threading.Event, *, label: str = ""
    ) -> str:
        began = time.monotonic()
        source = ["-rw_timeout", str(int(STREAM_TIMEOUT_S * 1e6)), "-t", f"{duration_s:.3f}"]
        source += ["-i", url]
        outcome, code, err = self._pipeline(source, stop, duration_s + STREAM_TIMEOUT_S)
        if outcome == INTERRUPTED:
            return INTERRUPTED
        return _judge_stream("ffmpeg", code, err, time.monotonic() - began, duration_s)

    def play_live(
        self, url: str, stop: threading.Event, *, stall_s: float, max_s: float, label: str = ""
    ) -> str:
        began = time.monotonic()
        outcome, code, err = self._pipeline(_live_input(url, stall_s), stop, max_s)
        played = time.monotonic() - began
        if outcome == INTERRUPTED or played >= max_s:
            return outcome
        raise StreamError(f"live stream ended after {played:.1f} s (ffmpeg {code}: {err})", played)


class FilePlayer:
    """Decodes each file to ``output_dir/<local time>_<label>.wav`` with ffmpeg, then waits the
    media's real duration (interruptible), so timing behaves like a speaker."""

    def __init__(self, output_dir: Path, ffmpeg: str = "ffmpeg") -> None:
        self.output_dir = output_dir
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg
        self.output_dir.mkdir(parents=True, exist_ok=True)

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        began = time.monotonic()
        out = self._decode(["-i", str(path)], label or path.stem, f"could not decode {path.name}")
        return self._wait_like_a_speaker(out, began, stop)

    def play_stream(
        self, url: str, duration_s: float, stop: threading.Event, *, label: str = ""
    ) -> str:
        """Record ``duration_s`` of the stream (read at its native rate, as a speaker would
        hear it) into a WAV; a stream that fails or ends early raises StreamError."""
        began = time.monotonic()
        name = _stamped(self.output_dir, label or "stream")
        part = self.output_dir / f".{name}.part"
        cmd = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-re"]
        cmd += ["-rw_timeout", str(int(STREAM_TIMEOUT_S * 1e6)), "-t", f"{duration_s:.3f}"]
        cmd += ["-i", url, "-f", "wav", str(part)]
        with _spawn(cmd, StreamError) as proc:
            outcome = _watch(proc, stop, 0.05, duration_s + STREAM_TIMEOUT_S)
            try:
                result = _stream_outcome("ffmpeg", proc, outcome, began, duration_s)
            finally:
                if part.exists() and part.stat().st_size > 44:
                    part.replace(self.output_dir / name)  # what was heard, even if cut short
                else:
                    part.unlink(missing_ok=True)
        logger.info("relayed stream %s into %s", url, name)
        return result

    def play_live(
        self, url: str, stop: threading.Event, *, stall_s: float, max_s: float, label: str = ""
    ) -> str:
        """Write the live stream into a WAV as it arrives (flushed packet by packet, so the
        file grows as a speaker would sound); what was heard is kept even when cut short."""
        began = time.monotonic()
        name = _stamped(self.output_dir, label or "live")
        part = self.output_dir / f".{name}.part"
        cmd = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        cmd += [*_live_input(url, stall_s), "-flush_packets", "1", "-f", "wav", str(part)]
        with _spawn(cmd, StreamError) as proc:
            outcome = _watch(proc, stop, 0.05, max_s)
            try:
                return _live_outcome("ffmpeg", proc, outcome, began, max_s)
            finally:
                if part.exists() and part.stat().st_size > 44:
                    part.replace(self.output_dir / name)
                    logger.info("live stream written into %s", name)
                else:
                    part.unlink(missing_ok=True)

    def _decode(self, source: list[str], label: str, what: str) -> Path:
        name = _stamped(self.output_dir, label)
        out = self.output_dir / name
        part = self.output_dir / f".{name}.part"
        cmd = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        cmd += [*source, "-f", "wav", str(part)]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            part.unlink(missing_ok=True)
            raise PlayerError(f"ffmpeg {what}: {exc}") from None
        if result.returncode != 0:
            part.unlink(missing_ok=True)
            err = result.stderr.decode(errors="replace").strip()[-300:]
            raise PlayerError(f"ffmpeg {what}: {err}")
        part.replace(out)
        return out

    def _wait_like_a_speaker(self, out: Path, began: float, stop: threading.Event) -> str:
        with wave.open(str(out), "rb") as w:
            duration = w.getnframes() / float(w.getframerate() or 1)
        logger.info("wrote %s (%.2f s)", out.name, duration)
        remaining = duration - (time.monotonic() - began)
        if remaining > 0 and stop.wait(remaining):
            return INTERRUPTED
        return FINISHED
