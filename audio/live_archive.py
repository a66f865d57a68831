"""A live session's recording into the media store: the audio as it aired (no mastering),
encoded like every stored file so officers' players and the proof treat it as any airing."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from pydub import AudioSegment

from audio.render import Rendered
from audio.store import MediaStore

logger = logging.getLogger(__name__)

ENGINE = "live"


class ArchiveError(ValueError):
    """The session's recording is missing or cannot be decoded."""


def archive_recording(
    path: Path, *, store: MediaStore, fmt: str = "mp3", bitrate: str = "64k"
) -> Rendered:
    """Decode ``path`` (the session's Ogg/Opus), encode it mono at ``bitrate`` and store it."""
    if not path.exists() or path.stat().st_size == 0:
        raise ArchiveError(f"no recording at {path}")
    try:
        audio = AudioSegment.from_file(str(path)).set_channels(1)
    except Exception as exc:  # pydub raises CouldntDecodeError and others from ffmpeg
        raise ArchiveError(f"cannot decode {path.name}: {exc}") from None
    buf = io.BytesIO()
    codec = {"opus": "libopus"}.get(fmt)
    audio.export(buf, format="ogg" if fmt == "opus" else fmt, bitrate=bitrate, codec=codec)
    data = buf.getvalue()
    sha256 = store.put(data, fmt)
    logger.info("archived live recording %s into %s.%s (%d ms)", path.name, sha256, fmt, len(audio))
    return Rendered(sha256=sha256, ext=fmt, size=len(data), duration_ms=len(audio), engine=ENGINE)
