"""Try engines in order and fall back on TTSError (gTTS online, espeak-ng offline)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from audio.tts.base import Speech, TTSEngine, TTSError

logger = logging.getLogger(__name__)


class AutoEngine:
    """The first engine that succeeds speaks; Speech.engine says which one it was."""

    name = "auto"

    def __init__(self, engines: Sequence[TTSEngine]) -> None:
        if not engines:
            raise ValueError("AutoEngine needs at least one engine")
        self.engines = tuple(engines)

    def synthesize(self, text: str) -> Speech:
        """Return the first engine's speech; raise TTSError naming every cause if all fail."""
        causes: list[str] = []
        for index, engine in enumerate(self.engines):
            try:
                return engine.synthesize(text)
            except TTSError as exc:
                causes.append(str(exc))
                following = self.engines[index + 1].name if index + 1 < len(self.engines) else None
                if following:
                    logger.warning("TTS fallback: %s; trying %s", exc, following)
        raise TTSError(self.name, "all engines failed: " + "; ".join(causes))
