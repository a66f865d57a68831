"""Approved text to a stored, mastered media file: validate, synthesize, master, store."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from audio.mastering import master
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


def render_text(
    text: str,
    *,
    engine: TTSEngine,
    store: MediaStore,
    repeat: int = 1,
    max_chars: int = 5000,
) -> Rendered:
    """Render text to mastered MP3 in the store (TTSError when no engine can speak)."""
    cleaned = validate_text(text, max_chars)
    # Seam: Vietnamese text normalization (numbers, dates, money, abbreviations) goes here.
    speech = engine.synthesize(cleaned)
    intro = None
    if repeat > 1:
        intro_speech = engine.synthesize(REPEAT_INTRO_TEXT)
        if intro_speech.engine != speech.engine:
            logger.warning(
                "repeat intro spoken by %s but the message by %s",
                intro_speech.engine,
                speech.engine,
            )
        intro = intro_speech.audio
    data, duration_ms = master(speech.audio, repeat=repeat, repeat_intro=intro, fmt=EXT)
    sha256 = store.put(data, EXT)
    logger.info(
        "rendered %d chars with %s into %s.%s (%d ms)",
        len(cleaned),
        speech.engine,
        sha256,
        EXT,
        duration_ms,
    )
    return Rendered(
        sha256=sha256, ext=EXT, size=len(data), duration_ms=duration_ms, engine=speech.engine
    )
