"""Approved text to a stored, mastered media file: validate, normalize, speak, master, store."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from audio.cache import RenderCache
from audio.loudness import LoudnessTarget
from audio.mastering import MASTERING_VERSION, master
from audio.normalize import normalize_text
from audio.speak import Progress, speak, voice_id
from audio.split import sentence_pieces, speakable
from audio.store import MediaStore
from audio.tts.auto import AutoEngine
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


def spoken_form(text: str, lexicon: Mapping[str, str] | None = None) -> list[str]:
    """The sentences of text as they will be read out (numbers, dates, units in words): what
    "Nghe thử" shows beside the audio. ValueError when there is nothing to say."""
    return [speakable(p) for p in spoken_pieces(text.strip(), lexicon)]


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
    intro_pieces = spoken_pieces(REPEAT_INTRO_TEXT) if repeat > 1 else []
    output = _Output(pieces, intro_pieces, repeat, target or LoudnessTarget(), fmt, bitrate)
    first = engine.engines[0] if isinstance(engine, AutoEngine) else engine
    hit = output.cached(cache, store, first)
    if hit is not None:
        return hit
    said = speak(engine, pieces, cache=cache, progress=progress)
    if said.speaker is not first:  # a fallback spoke: its result may be cached
        hit = output.cached(cache, store, said.speaker)
        if hit is not None:
            return hit
    intro = None
    if intro_pieces:
        intro = speak(said.speaker, intro_pieces, cache=cache).audio
    data, duration_ms = master(
        said.audio,
        repeat=repeat,
        repeat_intro=intro,
        fmt=fmt,
        bitrate=bitrate,
        target=output.target,
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
    rendered = Rendered(
        sha256=sha256, ext=fmt, size=len(data), duration_ms=duration_ms, engine=said.engine
    )
    if cache is not None:
        cache.put_mastered(output.key(said.speaker), asdict(rendered))
    return rendered


@dataclass(frozen=True)
class _Output:
    """Everything besides the engine that decides the mastered bytes: the mastered-result
    cache's key (with MASTERING_VERSION for the chain itself)."""

    pieces: list[str]
    intro_pieces: list[str]
    repeat: int
    target: LoudnessTarget
    fmt: str
    bitrate: str
    chime: bool = True

    def key(self, engine: TTSEngine) -> str:
        return RenderCache.mastered_key(
            engine=engine.name,
            voice=voice_id(engine),
            pieces=self.pieces,
            intro=self.intro_pieces,
            repeat=self.repeat,
            chime=self.chime,
            target=asdict(self.target),
            fmt=self.fmt,
            bitrate=self.bitrate,
            mastering=MASTERING_VERSION,
        )

    def cached(
        self, cache: RenderCache | None, store: MediaStore, engine: TTSEngine
    ) -> Rendered | None:
        """The cached result of this output spoken by engine, if its media is still stored
        (marked used now, so the media clean-up counts its grace period from this render)."""
        if cache is None:
            return None
        key = self.key(engine)
        note = cache.get_mastered(key)
        if note is None:
            return None
        rendered = _rendered(note)
        if rendered is None or not store.touch(rendered.sha256, rendered.ext):
            cache.drop_mastered(key)
            return None
        logger.info(
            "rendered %d pieces from the mastered cache: %s.%s (%d ms, %s)",
            len(self.pieces),
            rendered.sha256,
            rendered.ext,
            rendered.duration_ms,
            rendered.engine,
        )
        return rendered


def _rendered(note: dict[str, Any]) -> Rendered | None:
    """A Rendered from a cache note, or None when the note does not fit."""
    kinds = {"sha256": str, "ext": str, "size": int, "duration_ms": int, "engine": str}
    if set(note) != set(kinds) or any(type(note[k]) is not t for k, t in kinds.items()):
        return None
    return Rendered(**note)
