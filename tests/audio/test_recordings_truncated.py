"""A cut-off MP3 decodes without an error to part of the length its header declares: refused as
corrupt. A duration ffprobe only guessed from the bitrate is not held against a recording."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from audio.recordings import RecordingError, load_recording

LIMITS = {"max_bytes": 2_000_000, "max_seconds": 10.0}
VOICE = "aevalsrc=0.3*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*4*t)):s=44100"


def _encode(*args: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp3"
        cmd = ["ffmpeg", "-nostdin", "-v", "error", *args, "-ac", "1", "-f", "mp3", str(out)]
        subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        return out.read_bytes()


def _ffprobe_seconds(data: bytes) -> float:
    with tempfile.TemporaryDirectory() as tmp:  # a file, not a pipe: ffprobe seeks for the length
        path = Path(tmp) / "in.mp3"
        path.write_bytes(data)
        cmd = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json"]
        proc = subprocess.run([*cmd, str(path)], capture_output=True, check=True, timeout=60)
    return float(json.loads(proc.stdout)["format"]["duration"])


def _ffmpeg_decode(data: bytes) -> tuple[float, str]:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", "-", "-ac", "1", "-ar", "44100"]
        + ["-f", "s16le", "-"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    return len(proc.stdout) / 2 / 44100, proc.stderr.decode().strip()


@pytest.fixture(scope="module")
def five_seconds() -> bytes:
    """A 5 s CBR MP3 as LAME writes it (with an Info header that declares the length)."""
    return _encode("-f", "lavfi", "-i", f"{VOICE}:d=5", "-c:a", "libmp3lame", "-b:a", "64k")


def test_the_whole_file_is_accepted(five_seconds: bytes) -> None:
    audio = load_recording(five_seconds, **LIMITS)
    assert audio.duration_seconds == pytest.approx(5.0, abs=0.1)


def test_a_cut_off_mp3_is_corrupt(five_seconds: bytes) -> None:
    cut = five_seconds[: len(five_seconds) // 2]
    # The situation reported: the header still says 5.04 s, ffmpeg decodes 2.5 s and no error.
    assert _ffprobe_seconds(cut) == pytest.approx(5.04, abs=0.05)
    decoded, errors = _ffmpeg_decode(cut)
    assert decoded == pytest.approx(2.5, abs=0.2) and errors == ""

    with pytest.raises(RecordingError, match=r"incomplete: 2\.\d of 5\.0 s") as info:
        load_recording(cut, **LIMITS)
    assert info.value.code == "corrupt"


def test_losing_only_the_last_frames_is_tolerated(five_seconds: bytes) -> None:
    nearly = five_seconds[: len(five_seconds) * 96 // 100]  # over 90 % of the declared length
    assert load_recording(nearly, **LIMITS).duration_seconds > 4.5


def test_a_guessed_duration_is_not_held_against_a_recording() -> None:
    # VBR without a Xing header, quiet first: ffprobe guesses ~18 s from the first frames'
    # bitrate, but the recording is 6 s. Neither "too long" (limit 10 s) nor "corrupt".
    data = _encode(
        "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=2",
        "-f", "lavfi", "-i", f"{VOICE}:d=4",
        "-filter_complex", "[0][1]concat=n=2:v=0:a=1",
        "-c:a", "libmp3lame", "-q:a", "0", "-write_xing", "0",
    )  # fmt: skip
    assert _ffprobe_seconds(data) > 10
    audio = load_recording(data, **LIMITS)
    assert audio.duration_seconds == pytest.approx(6.0, abs=0.2)
