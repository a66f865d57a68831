"""TTS engines behind one interface, and the factory that picks them from Settings."""

from __future__ import annotations

import logging

from audio.tts.auto import AutoEngine
from audio.tts.base import Speech, TTSEngine, TTSError
from audio.tts.espeak import VOICES, EspeakEngine
from audio.tts.gtts import GttsEngine
from audio.tts.piper import PiperEngine
from broadcaster.config import Settings

__all__ = [
    "VOICES",
    "AutoEngine",
    "EspeakEngine",
    "GttsEngine",
    "PiperEngine",
    "Speech",
    "TTSEngine",
    "TTSError",
    "make_engine",
]

logger = logging.getLogger(__name__)


def _offline(settings: Settings) -> TTSEngine:
    """Piper when a voice model is installed, else espeak-ng in the configured regional voice."""
    model = getattr(settings, "piper_model", "")
    executable = getattr(settings, "piper_executable", "piper")
    espeak = EspeakEngine(voice=getattr(settings, "tts_voice", "north"))
    if PiperEngine.available(model, executable):
        return AutoEngine([PiperEngine(model, executable=executable), espeak])
    if model:
        logger.warning("piper_model %s is set but piper or the model is missing", model)
    return espeak


def make_engine(settings: Settings) -> TTSEngine:
    """The engine settings.tts_engine names; "auto" is gTTS falling back to the offline engine.

    Optional keys (read when Settings has them): tts_voice (north | central | south, for
    espeak-ng), piper_model (a voice model path) and piper_executable.
    """
    if settings.tts_engine == "gtts":
        return GttsEngine(timeout=settings.tts_timeout_s)
    if settings.tts_engine == "espeak":
        return EspeakEngine(voice=getattr(settings, "tts_voice", "north"))
    if settings.tts_engine == "piper":
        model = getattr(settings, "piper_model", "")
        return PiperEngine(model, executable=getattr(settings, "piper_executable", "piper"))
    if settings.tts_engine == "offline":
        return _offline(settings)
    if settings.tts_engine == "auto":
        offline = _offline(settings)
        rest = offline.engines if isinstance(offline, AutoEngine) else (offline,)
        return AutoEngine([GttsEngine(timeout=settings.tts_timeout_s), *rest])
    raise ValueError(
        f"unknown tts_engine {settings.tts_engine!r}: use gtts, espeak, piper, offline or auto"
    )
