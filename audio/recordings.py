"""Recorded or uploaded voice clips: validate with ffprobe/ffmpeg, then master like speech.

For minority-language villages (Ba Na, Xơ Đăng, Ê Đê…) no engine speaks the language, so a
commune officer records the message. Anything ffmpeg reads is accepted (MP3, WAV, OGG/Opus,
WebM from the browser's MediaRecorder, M4A); everything else gets a RecordingError whose
`code` is stable, so the web can show its own translated message.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from audio.loudness import LoudnessTarget
from audio.mastering import conform, master
from audio.render import Rendered
from audio.store import MediaStore

logger = logging.getLogger(__name__)

SILENCE_DBFS = -50.0  # RMS under this is no message anybody could hear
MIN_SECONDS = 0.5
# A file that decodes to less than this share of the duration its header declares was cut off
# (an interrupted upload or copy): ffmpeg decodes the frames that are there without an error.
COMPLETE_RATIO = 0.9
# ffprobe's warning when it has no duration in the header and guesses one from the size and the
# first frames' bitrate: a VBR MP3 without a Xing header that starts quietly is "18 s" for 6 s.
ESTIMATED = "Estimating duration from bitrate"
TIMEOUT_S = 120.0
ENGINE = "recording"


class RecordingError(ValueError):
    """A recording is unusable; `code` is stable (for translation), the message is English."""

    CODES = ("empty", "too_big", "not_audio", "corrupt", "too_long", "too_short", "silent")

    def __init__(self, code: str, message: str, **params: Any) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown recording error code {code!r}")
        super().__init__(message)
        self.code = code
        self.params = params


def looks_like_audio(data: bytes) -> bool:
    """True when the bytes start like a common audio container (to tell damaged from foreign)."""
    head = data[:12]
    return (
        head.startswith((b"OggS", b"ID3", b"fLaC", b"\x1aE\xdf\xa3", b"#!AMR", b"caff"))
        or (head.startswith(b"RIFF") and head[8:12] == b"WAVE")
        or head[4:8] == b"ftyp"
        or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # MPEG audio sync
    )


def _probe(path: Path, data: bytes) -> dict[str, Any]:
    """ffprobe's JSON; ``duration_estimated`` is added when the duration is a guess."""
    cmd = ["ffprobe", "-v", "warning", "-print_format", "json", "-show_format", "-show_streams"]
    proc = subprocess.run([*cmd, str(path)], capture_output=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        if "Invalid data found" in stderr and not looks_like_audio(data):
            raise RecordingError("not_audio", "the file is not audio in any format ffmpeg reads")
        logger.info("ffprobe rejected a recording: %s", stderr.strip()[-300:])
        raise RecordingError("corrupt", "the audio file is damaged or incomplete")
    info = json.loads(proc.stdout or b"{}")
    if not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise RecordingError("not_audio", "the file has no audio in it")
    info["duration_estimated"] = ESTIMATED in proc.stderr.decode("utf-8", "replace")
    return info


def _probed_seconds(info: dict[str, Any]) -> float | None:
    """The duration the file declares, or None when it declares none (ffprobe only guessed)."""
    if info.get("duration_estimated"):
        return None
    try:
        return float(info["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        return None  # MediaRecorder's WebM often has no duration in its header


def _decode(path: Path, max_seconds: float) -> tuple[AudioSegment, str]:
    # Decode at most a little more than allowed, so a huge file cannot keep us busy.
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-t", f"{max_seconds + 1}"]
    cmd += ["-ac", "1", "-ar", "44100", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise RecordingError("corrupt", "the audio file could not be decoded in time") from exc
    errors = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or len(proc.stdout) <= 44:
        logger.info("ffmpeg could not decode a recording: %s", errors[-300:])
        raise RecordingError("corrupt", "the audio file is damaged or incomplete")
    with tempfile.TemporaryFile() as fh:  # pydub reads WAV from a file object
        fh.write(proc.stdout)
        fh.seek(0)
        return AudioSegment.from_wav(fh), errors


def load_recording(data: bytes, *, max_bytes: int, max_seconds: float) -> AudioSegment:
    """Validate an uploaded recording and return it decoded (mono, 44.1 kHz, 16-bit)."""
    if not data:
        raise RecordingError("empty", "the file is empty")
    if len(data) > max_bytes:
        raise RecordingError(
            "too_big",
            f"the file is {len(data)} bytes; the limit is {max_bytes} bytes",
            size=len(data),
            limit=max_bytes,
        )
    with tempfile.TemporaryDirectory(prefix="recording-") as tmp:
        path = Path(tmp) / "upload"  # no extension: ffmpeg looks at the content, not the name
        path.write_bytes(data)
        info = _probe(path, data)
        probed = _probed_seconds(info)
        if probed is not None and probed > max_seconds + 0.5:
            raise _too_long(probed, max_seconds)
        audio, errors = _decode(path, max_seconds)
    seconds = audio.duration_seconds
    if probed is not None and seconds < COMPLETE_RATIO * probed:
        logger.info("recording decodes to %.1f of %.1f s: %s", seconds, probed, errors[-300:])
        raise RecordingError(
            "corrupt", f"the audio file is incomplete: {seconds:.1f} of {probed:.1f} s decode"
        )
    if seconds > max_seconds + 0.5:
        raise _too_long(seconds, max_seconds)
    if seconds < MIN_SECONDS:
        raise RecordingError(
            "too_short",
            f"the recording is {seconds:.1f} s long; it must be at least {MIN_SECONDS} s",
        )
    if audio.dBFS < SILENCE_DBFS:
        raise RecordingError(
            "silent",
            f"the recording is silent (level {audio.dBFS:.0f} dBFS, under {SILENCE_DBFS:.0f})",
        )
    logger.debug("recording accepted: %.1f s, %.1f dBFS", seconds, audio.dBFS)
    return conform(audio)


def _too_long(seconds: float, max_seconds: float) -> RecordingError:
    return RecordingError(
        "too_long",
        f"the recording is {seconds:.0f} s long; the limit is {max_seconds:.0f} s",
        seconds=round(seconds, 1),
        limit=max_seconds,
    )


def master_recording(
    data: bytes,
    *,
    store: MediaStore,
    max_bytes: int,
    max_seconds: float,
    repeat: int = 1,
    chime: bool = True,
    target: LoudnessTarget | None = None,
    fmt: str = "mp3",
    bitrate: str = "64k",
) -> Rendered:
    """Validate, master (chime, repeats without a spoken intro, loudness) and store a recording.

    Repeats have no "Xin nhắc lại": the listeners may not speak Vietnamese; a recorder who
    wants an intro says it in the recording's language.
    """
    audio = load_recording(data, max_bytes=max_bytes, max_seconds=max_seconds)
    encoded, duration_ms = master(
        audio, chime=chime, repeat=repeat, fmt=fmt, bitrate=bitrate, target=target
    )
    sha256 = store.put(encoded, fmt)
    logger.info("mastered a recording into %s.%s (%d ms)", sha256, fmt, duration_ms)
    return Rendered(
        sha256=sha256, ext=fmt, size=len(encoded), duration_ms=duration_ms, engine=ENGINE
    )
