"""Tones for live tests and benchmarks: make a WebM/Opus tone (what a browser's MediaRecorder
sends), send it in real time, and find a tone in a WAV (Goertzel, standard library only)."""

from __future__ import annotations

import array
import math
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path


def make_webm(path: Path, source: str, *, rate: int = 48000) -> Path:
    """Encode the lavfi ``source`` (e.g. "sine=frequency=880:duration=8") as WebM/Opus mono,
    in Matroska clusters of about 250 ms (MediaRecorder's chunks with a 250 ms timeslice)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", source, "-ac", "1", "-ar", str(rate), "-c:a", "libopus", "-b:a", "48k"]
        + ["-cluster_time_limit", "250", "-f", "webm", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def make_tone_wav(path: Path, frequency: int, seconds: float, rate: int = 48000) -> Path:
    """A mono WAV tone (Chromium's --use-file-for-fake-audio-capture reads WAV)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate={rate}"]
        + ["-ac", "1", "-c:a", "pcm_s16le", str(path)],
        check=True,
        capture_output=True,
    )
    return path


class RealTimeSender(threading.Thread):
    """Sends ``data`` through ``send`` in pieces, paced so that it lasts ``seconds`` (as a
    microphone would produce it); ``stop`` ends it early."""

    def __init__(
        self, data: bytes, seconds: float, send: Callable[[bytes], None], pieces_per_s: int = 4
    ) -> None:
        super().__init__(daemon=True)
        self.data = data
        self.seconds = seconds
        self.send = send
        self.pieces = max(1, int(seconds * pieces_per_s))
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        step = math.ceil(len(self.data) / self.pieces)
        began = time.monotonic()
        try:
            for n, i in enumerate(range(0, len(self.data), step)):
                if self.stop.is_set():
                    return
                self.send(self.data[i : i + step])
                ahead = began + (n + 1) * self.seconds / self.pieces - time.monotonic()
                if ahead > 0 and self.stop.wait(ahead):
                    return
        except BaseException as exc:  # reported by the test
            self.error = exc


def goertzel_ratio(samples: array.array[int], rate: int, frequency: float) -> float:
    """The share of the block's energy at ``frequency`` (0..1; about 1 for a pure tone)."""
    n = len(samples)
    if n == 0:
        return 0.0
    k = round(n * frequency / rate)
    coeff = 2.0 * math.cos(2.0 * math.pi * k / n)
    s1 = s2 = 0.0
    total = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
        total += x * x
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 0.0 if total == 0 else min(1.0, 2.0 * power / (n * total))


def read_wav(path: Path) -> tuple[array.array[int], int]:
    """Mono 16-bit samples and the rate (the first channel of a multi-channel file)."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    assert width == 2, f"{path}: {8 * width}-bit samples"
    samples = array.array("h", frames)
    if channels > 1:
        samples = samples[::channels]
    return samples, rate


def tone_seconds(path: Path, frequency: float, block_s: float = 0.05) -> float:
    """How many seconds of ``path`` are that tone (blocks where it holds most of the energy)."""
    samples, rate = read_wav(path)
    block = max(1, int(rate * block_s))
    loud = 0
    for i in range(0, len(samples) - block + 1, block):
        piece = samples[i : i + block]
        if (
            max(abs(min(piece)), abs(max(piece))) > 300
            and goertzel_ratio(piece, rate, frequency) > 0.5
        ):
            loud += 1
    return loud * block_s
