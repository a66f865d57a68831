"""Fixtures for audio tests: real ffmpeg/ffprobe and espeak-ng, never the internet."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from audio.store import MediaStore
from audio.tts.espeak import EspeakEngine


@pytest.fixture(scope="session", autouse=True)
def _require_tools() -> None:
    missing = [t for t in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools: {', '.join(missing)} (run scripts/bootstrap.sh)")


@pytest.fixture(scope="session")
def vi_text() -> str:
    return "Thông báo của Ủy ban nhân dân xã về lịch tiêm chủng cho trẻ em trong thôn."


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture(scope="session")
def espeak() -> EspeakEngine:
    return EspeakEngine()


@pytest.fixture(scope="session")
def tone() -> AudioSegment:
    """Two seconds of a 300 Hz tone standing in for speech."""
    return Sine(300).to_audio_segment(2000, volume=-20.0)


@pytest.fixture(scope="session")
def tone_mp3(tone: AudioSegment) -> bytes:
    buf = io.BytesIO()
    tone.export(buf, format="mp3", bitrate="32k")
    return buf.getvalue()


@pytest.fixture(scope="session")
def ffprobe() -> Callable[[bytes], dict[str, Any]]:
    """ffprobe's JSON (format and first stream) for encoded bytes."""

    def probe(data: bytes) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "media"
            path.write_bytes(data)
            out = subprocess.run(
                [
                    "ffprobe",
                    "-v",
                    "error",
                    "-print_format",
                    "json",
                    "-show_format",
                    "-show_streams",
                    str(path),
                ],
                capture_output=True,
                check=True,
                timeout=30,
            )
        info = json.loads(out.stdout)
        return {"format": info["format"], "stream": info["streams"][0]}

    return probe


@pytest.fixture(scope="session")
def ebur128() -> Callable[[bytes], tuple[float, float]]:
    """(integrated LUFS, true peak dBTP) of encoded bytes, read from ffmpeg's ebur128 summary."""

    def measure(data: bytes) -> tuple[float, float]:
        out = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostats", "-i", "pipe:0"]
            + ["-af", "ebur128=peak=true", "-f", "null", "-"],
            input=data,
            capture_output=True,
            check=True,
            timeout=60,
        )
        summary = out.stderr.decode().rsplit("Summary:", 1)[1]
        integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
        peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
        assert integrated and peak, summary
        return float(integrated.group(1)), float(peak.group(1))

    return measure
