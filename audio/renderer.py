"""The Renderer interface (text to mastered, stored audio) and its real implementation.

A renderer is what the workflow, emergencies and relay fallbacks call: ``render(text,
repeat=…, lexicon=…, commune=…)``. :class:`TextRenderer` holds the commune's settings (engine,
render cache, loudness target, format, per-commune voices); test fakes implement the same
protocol. Storing the result as a ``Media`` row is ``schedules.rendering.store_rendered``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from audio.cache import RenderCache
from audio.loudness import LoudnessTarget
from audio.render import Rendered, render_text
from audio.store import MediaStore
from audio.tts.base import TTSEngine
from audio.tts.registry import make_engine
from broadcaster.config import Settings

logger = logging.getLogger(__name__)


class Renderer(Protocol):
    """Renders text to mastered audio in the media store (TTSError, or ValueError on bad text).

    ``repeat``: how many times the message is said (repeats follow "Xin nhắc lại");
    ``lexicon``: the admins' entries on top of the built-in normalization, read by the caller
    at render time; ``commune``: whose configured voice speaks (``commune_voices``), None for
    the default voice.
    """

    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered: ...


@dataclass
class TextRenderer(Renderer):
    """The configured renderer: engine, store, render cache, loudness target and format."""

    engine: TTSEngine
    store: MediaStore
    cache: RenderCache | None = None
    target: LoudnessTarget | None = None
    fmt: str = "mp3"
    bitrate: str = "64k"
    max_chars: int = 5000
    cache_max_bytes: int = 0  # 0: never prune
    settings: Settings | None = None  # to make an engine per commune voice, when configured
    _engines: dict[str, TTSEngine] = field(default_factory=dict, repr=False)

    def engine_for(self, commune: str | None) -> TTSEngine:
        """The engine speaking with ``commune``'s voice (``commune_voices``), else the default."""
        if self.settings is None or commune is None:
            return self.engine
        voice = self.settings.voice_for(commune)
        if voice == self.settings.tts_voice:
            return self.engine
        if voice not in self._engines:
            self._engines[voice] = make_engine(self.settings.replace(tts_voice=voice))
        return self._engines[voice]

    @classmethod
    def from_settings(cls, settings: Settings) -> TextRenderer:
        """The configured engine, store, cache and loudness target."""
        return cls(
            engine=make_engine(settings),
            store=MediaStore(settings.media_dir),
            cache=RenderCache(settings.render_cache_dir),
            target=LoudnessTarget(
                integrated=settings.loudness_target_lufs, true_peak=settings.true_peak_db
            ),
            fmt=settings.audio_format,
            bitrate=settings.audio_bitrate,
            max_chars=settings.max_text_chars,
            cache_max_bytes=settings.render_cache_max_bytes,
            settings=settings,
        )

    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered:
        rendered = render_text(
            text,
            engine=self.engine_for(commune),
            store=self.store,
            repeat=repeat,
            max_chars=self.max_chars,
            lexicon=lexicon,
            cache=self.cache,
            target=self.target,
            fmt=self.fmt,
            bitrate=self.bitrate,
        )
        if self.cache is not None and self.cache_max_bytes:
            self.cache.prune(self.cache_max_bytes)
        return rendered


def make_renderer(settings: Settings) -> Renderer:
    """Text → mastered, stored audio: configured engine, render cache, loudness and format."""
    return TextRenderer.from_settings(settings)
