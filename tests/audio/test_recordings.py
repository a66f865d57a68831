"""Recordings: real files made with ffmpeg; bad input gets a RecordingError with a stable code."""

from __future__ import annotations

import io
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydub import AudioSegment

from audio.recordings import RecordingError, load_recording, master_recording
from audio.store import MediaStore

LIMITS = {"max_bytes": 2_000_000, "max_seconds": 10.0}


def _ffmpeg(source: str, seconds: float, *out_args: str) -> bytes:
    """Encode a lavfi source with ffmpeg into a real file (as encoders do) and return its bytes."""
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"{source}:d={seconds}", "-ac", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run([*cmd, *out_args, str(out)], capture_output=True, check=True)
        return out.read_bytes()


# A voice-like signal: a 220 Hz tone with a 4 Hz syllable rhythm.
VOICE = "aevalsrc=0.3*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*4*t)):s=44100"


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    wav = _ffmpeg(VOICE, 3, "-f", "wav")
    mp3 = _ffmpeg(VOICE, 3, "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3")
    ogg = _ffmpeg(VOICE, 3, "-c:a", "libopus", "-f", "ogg")
    webm = _ffmpeg(VOICE, 3, "-c:a", "libopus", "-f", "webm")
    return {
        "wav": wav,
        "mp3": mp3,
        "ogg": ogg,
        "webm": webm,
        "silent": _ffmpeg("anullsrc=r=44100:cl=mono", 3, "-f", "wav"),
        "long": _ffmpeg(VOICE, 12, "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3"),
        "short": _ffmpeg(VOICE, 0.2, "-f", "wav"),
    }


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("kind", ["wav", "mp3", "ogg", "webm"])
def test_real_recordings_are_accepted(files: dict[str, bytes], kind: str) -> None:
    audio = load_recording(files[kind], **LIMITS)
    assert audio.duration_seconds == pytest.approx(3.0, abs=0.1)
    assert (audio.channels, audio.frame_rate, audio.sample_width) == (1, 44100, 2)
    assert audio.dBFS > -20


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda f: b"", "empty"),
        (lambda f: _png(), "not_audio"),
        (lambda f: "Thông báo: đây không phải âm thanh.\n".encode() * 20, "not_audio"),
        (lambda f: f["mp3"][: len(f["mp3"]) // 4], "corrupt"),
        (lambda f: f["ogg"][:300], "corrupt"),
        (lambda f: f["wav"][:30], "corrupt"),
        (lambda f: f["silent"], "silent"),
        (lambda f: f["long"], "too_long"),
        (lambda f: f["short"], "too_short"),
    ],
    ids=[
        "empty",
        "png",
        "text",
        "truncated-mp3",
        "truncated-ogg",
        "truncated-wav",
        "silent",
        "long",
        "short",
    ],
)
def test_bad_recordings_are_rejected_with_a_code(
    files: dict[str, bytes], make: Callable[[dict[str, bytes]], bytes], code: str
) -> None:
    with pytest.raises(RecordingError) as info:
        load_recording(make(files), **LIMITS)
    assert info.value.code == code
    assert isinstance(info.value, ValueError)
    assert str(info.value)[0].islower()  # an English sentence fragment the web can show


def test_too_big_is_checked_before_anything_else(files: dict[str, bytes]) -> None:
    with pytest.raises(RecordingError, match="the limit is 1000 bytes") as info:
        load_recording(files["wav"], max_bytes=1000, max_seconds=10)
    assert info.value.code == "too_big"
    assert info.value.params == {"size": len(files["wav"]), "limit": 1000}


def test_too_long_names_the_limit(files: dict[str, bytes]) -> None:
    with pytest.raises(RecordingError, match="12 s long; the limit is 10 s") as info:
        load_recording(files["long"], **LIMITS)
    assert info.value.params["limit"] == 10.0


def test_unknown_codes_are_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown recording error code"):
        RecordingError("meh", "x")


def test_accepted_recording_is_mastered_and_stored(
    files: dict[str, bytes], store: MediaStore, ebur128: Callable[[bytes], Any]
) -> None:
    quiet = AudioSegment.from_file(io.BytesIO(files["ogg"]), format="ogg").apply_gain(-18)
    buf = io.BytesIO()
    quiet.export(buf, format="wav")
    rendered = master_recording(buf.getvalue(), store=store, repeat=2, **LIMITS)
    assert rendered.engine == "recording"
    data = store.path(rendered.sha256, "mp3").read_bytes()
    integrated, peak = ebur128(data)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.5
    assert rendered.duration_ms > 2 * 3000 + 2 * 1300


def test_a_rejected_recording_stores_nothing(files: dict[str, bytes], store: MediaStore) -> None:
    with pytest.raises(RecordingError):
        master_recording(files["silent"], store=store, **LIMITS)
    assert not store.root.exists() or not any(store.root.rglob("*.*"))
