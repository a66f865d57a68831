"""Approved text to a stored, mastered media file: validate, normalize, speak, master, store."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from audio.cache import RenderCache
from audio.loudness import LoudnessTarget
from audio.mastering import master
from audio.normalize import normalize_text
from audio.speak import Progress, speak
from audio.split import sentence_pieces
from audio.store import MediaStore
from audio.tts.base import TTSEngine

logger = logging.getLogger(__name__)

REPEAT_INTRO_TEXT = "Xin nhắc lại"
EXT = "mp3"


@dataclass(frozen=True)
class Rendered:
    """A rendered announcement: where it is stored and what it is."""

    sha256: str
    ext: str
    size: int
    duration_ms: int
    engine: str


def validate_text(text: str, max_chars: int) -> str:
    """The text stripped of outer whitespace; ValueError when empty or over max_chars."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("announcement text is empty")
    if len(cleaned) > max_chars:
        raise ValueError(
            f"announcement text is {len(cleaned)} characters long; the limit is {max_chars}"
        )
    return cleaned


def spoken_pieces(text: str, lexicon: Mapping[str, str] | None = None) -> list[str]:
    """The normalized sentences of text, as render_text speaks (and caches) them."""
    pieces = [p for p in sentence_pieces(normalize_text(text, lexicon, keep_glue=True))]
    pieces = [p for p in pieces if any(ch.isalnum() for ch in p)]
    if not pieces:
        raise ValueError("announcement text has nothing to say once normalized")
    return pieces


def render_text(
    text: str,
    *,
    engine: TTSEngine,
    store: MediaStore,
    repeat: int = 1,
    max_chars: int = 5000,
    lexicon: Mapping[str, str] | None = None,
    cache: RenderCache | None = None,
    target: LoudnessTarget | None = None,
    fmt: str = EXT,
    bitrate: str = "64k",
    progress: Progress | None = None,
) -> Rendered:
    """Render text to mastered audio in the store (TTSError when no engine can speak).

    The text is normalized (lexicon entries on top of the built-in ones), spoken sentence by
    sentence through the cache, joined with pauses, and mastered (chime, repeats after
    "Xin nhắc lại" in the same voice, loudness target, mp3 or opus).
    """
    cleaned = validate_text(text, max_chars)
    pieces = spoken_pieces(cleaned, lexicon)
    said = speak(engine, pieces, cache=cache, progress=progress)
    intro = None
    if repeat > 1:
        intro_pieces = spoken_pieces(REPEAT_INTRO_TEXT)
        intro = speak(said.speaker, intro_pieces, cache=cache).audio
    data, duration_ms = master(
        said.audio, repeat=repeat, repeat_intro=intro, fmt=fmt, bitrate=bitrate, target=target
    )
    sha256 = store.put(data, fmt)
    logger.info(
        "rendered %d chars in %d pieces (%d synthesized) with %s into %s.%s (%d ms)",
        len(cleaned),
        len(pieces),
        said.synthesized,
        said.engine,
        sha256,
        fmt,
        duration_ms,
    )
    return Rendered(
        sha256=sha256, ext=fmt, size=len(data), duration_ms=duration_ms, engine=said.engine
    )
