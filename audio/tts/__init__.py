"""TTS engines behind one interface, and the factory that picks them from Settings."""

from __future__ import annotations

from audio.tts.auto import AutoEngine
from audio.tts.base import Speech, TTSEngine, TTSError
from audio.tts.espeak import EspeakEngine
from audio.tts.gtts import GttsEngine
from broadcaster.config import Settings

__all__ = [
    "AutoEngine",
    "EspeakEngine",
    "GttsEngine",
    "Speech",
    "TTSEngine",
    "TTSError",
    "make_engine",
]


def make_engine(settings: Settings) -> TTSEngine:
    """The engine settings.tts_engine names; "auto" is gTTS falling back to espeak-ng."""
    if settings.tts_engine == "gtts":
        return GttsEngine(timeout=settings.tts_timeout_s)
    if settings.tts_engine == "espeak":
        return EspeakEngine()
    if settings.tts_engine == "auto":
        return AutoEngine([GttsEngine(timeout=settings.tts_timeout_s), EspeakEngine()])
    raise ValueError(f"unknown tts_engine {settings.tts_engine!r}: use gtts, espeak or auto")
