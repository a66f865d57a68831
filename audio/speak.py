"""Speak a list of pieces with one voice, through the render cache, falling back as a whole.

A fallback engine (AutoEngine) is tried piece list by piece list, not piece by piece, so an
announcement is never half Google and half espeak-ng; the cache is keyed by the engine that
actually spoke, so cached espeak-ng pieces are not reused once Google is reachable again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydub import AudioSegment

from audio.cache import RenderCache
from audio.pauses import join
from audio.split import speakable
from audio.tts.auto import AutoEngine
from audio.tts.base import TTSEngine, TTSError

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]
SYNTH_THREADS = max(2, min(4, os.cpu_count() or 1))


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
    texts = [speakable(piece) for piece in pieces]
    keys = [RenderCache.key(engine.name, voice_id(engine), text) for text in texts]
    found = [cache.get(key) if cache is not None else None for key in keys]
    missing = [index for index, audio in enumerate(found) if audio is None]
    for _ in range(len(pieces) - len(missing)):
        if progress is not None:
            progress(1)
    for index, audio in zip(missing, _synthesize(engine, [texts[i] for i in missing]), strict=True):
        found[index] = audio
        if cache is not None:
            cache.put(keys[index], audio)
        if progress is not None:
            progress(1)
    segments = [audio for audio in found if audio is not None]
    cached = len(pieces) - len(missing)
    logger.debug("%s spoke %d pieces (%d from the cache)", engine.name, len(pieces), cached)
    return Spoken(
        audio=join(segments, pieces),
        engine=engine.name,
        speaker=engine,
        synthesized=len(missing),
        cached=cached,
    )


def _synthesize(engine: TTSEngine, texts: Sequence[str]) -> Iterator[AudioSegment]:
    """Each text's speech, in order. An engine that runs a local process per call and says so
    (``parallel = True``: espeak-ng) gets SYNTH_THREADS calls at once; others one at a time
    (an online service may throttle, and a fallback must see its failures in order)."""
    if not getattr(engine, "parallel", False) or len(texts) < 2:
        for text in texts:
            yield engine.synthesize(text).audio
        return
    with ThreadPoolExecutor(SYNTH_THREADS, thread_name_prefix=f"tts-{engine.name}") as pool:
        for speech in pool.map(engine.synthesize, texts):
            yield speech.audio
