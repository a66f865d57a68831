"""Speak a list of pieces with one voice, through the render cache, falling back as a whole.

A fallback engine (AutoEngine) is tried piece list by piece list, not piece by piece, so an
announcement is never half Google and half espeak-ng; the cache is keyed by the engine that
actually spoke, so cached espeak-ng pieces are not reused once Google is reachable again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydub import AudioSegment

from audio.cache import RenderCache
from audio.pauses import join
from audio.split import speakable
from audio.tts.auto import AutoEngine
from audio.tts.base import TTSEngine, TTSError

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Spoken:
    """The joined speech, the engine that spoke it, and how many pieces were synthesized."""

    audio: AudioSegment
    engine: str
    speaker: TTSEngine
    synthesized: int
    cached: int


def voice_id(engine: TTSEngine) -> str:
    """What besides its name decides an engine's sound (voice, speed, model)."""
    return str(getattr(engine, "voice_id", ""))


def speak(
    engine: TTSEngine,
    pieces: Sequence[str],
    *,
    cache: RenderCache | None = None,
    progress: Progress | None = None,
) -> Spoken:
    """Synthesize every piece with one engine (the first of a fallback chain that works)."""
    if not pieces:
        raise ValueError("nothing to speak")
    candidates = engine.engines if isinstance(engine, AutoEngine) else (engine,)
    causes: list[str] = []
    for index, candidate in enumerate(candidates):
        try:
            return _speak_with(candidate, pieces, cache, progress)
        except TTSError as exc:
            if len(candidates) == 1:
                raise
            causes.append(str(exc))
            if index + 1 < len(candidates):
                logger.warning("TTS fallback: %s; trying %s", exc, candidates[index + 1].name)
    raise TTSError(engine.name, "all engines failed: " + "; ".join(causes))


def _speak_with(
    engine: TTSEngine,
    pieces: Sequence[str],
    cache: RenderCache | None,
    progress: Progress | None,
) -> Spoken:
    segments: list[AudioSegment] = []
    synthesized = cached = 0
    for piece in pieces:
        text = speakable(piece)
        key = RenderCache.key(engine.name, voice_id(engine), text)
        audio = cache.get(key) if cache is not None else None
        if audio is None:
            audio = engine.synthesize(text).audio
            synthesized += 1
            if cache is not None:
                cache.put(key, audio)
        else:
            cached += 1
        segments.append(audio)
        if progress is not None:
            progress(1)
    logger.debug("%s spoke %d pieces (%d from the cache)", engine.name, len(pieces), cached)
    return Spoken(
        audio=join(segments, pieces),
        engine=engine.name,
        speaker=engine,
        synthesized=synthesized,
        cached=cached,
    )
