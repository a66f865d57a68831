"""Text to speech with the commune's settings: engine, render cache, loudness, format, lexicon.

``workflow.make_renderer`` builds a ``TextRenderer`` once per process; ``workflow.submit``
calls it with the announcement's repeat count and the admins' lexicon read from the database
at that moment, so a lexicon entry applies at the next render.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from audio.cache import RenderCache
from audio.loudness import LoudnessTarget
from audio.render import Rendered, render_text
from audio.store import MediaStore
from audio.tts import make_engine
from audio.tts.base import TTSEngine
from broadcaster.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_REPEAT = 2  # when a caller gives no repeat count (a normal notice)


@dataclass
class TextRenderer:
    """Renders text to mastered, stored audio; callable as ``render(text)`` like any Renderer."""

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
        repeat: int = DEFAULT_REPEAT,
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
