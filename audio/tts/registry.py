"""The TTS engines by name (``tts_engine`` in the config): the one place an engine is added.

The names themselves are ``broadcaster.config.TTS_ENGINES``: the config validates against them
without importing audio (it sits below audio in the data flow). This module maps each name to
a factory and refuses to import if the two disagree, so a new engine is one factory here plus
its name there; the CLI's ``--engine`` choices are read from :data:`ENGINES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType

from audio.tts.auto import AutoEngine
from audio.tts.base import TTSEngine
from audio.tts.espeak import EspeakEngine
from audio.tts.gtts import GttsEngine
from audio.tts.piper import PiperEngine
from broadcaster.config import TTS_ENGINES, Settings

logger = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], TTSEngine]


def _gtts(settings: Settings) -> TTSEngine:
    return GttsEngine(timeout=settings.tts_timeout_s)


def _espeak(settings: Settings) -> TTSEngine:
    return EspeakEngine(voice=settings.tts_voice)


def _piper(settings: Settings) -> TTSEngine:
    return PiperEngine(settings.piper_model, executable=settings.piper_executable)


def _offline(settings: Settings) -> TTSEngine:
    """Piper when a voice model is installed, else espeak-ng in the configured regional voice."""
    model, executable = settings.piper_model, settings.piper_executable
    espeak = EspeakEngine(voice=settings.tts_voice)
    if PiperEngine.available(model, executable):
        return AutoEngine([PiperEngine(model, executable=executable), espeak])
    if model:
        logger.warning("piper_model %s is set but piper or the model is missing", model)
    return espeak


def _auto(settings: Settings) -> TTSEngine:
    """gTTS, falling back to the offline engine(s)."""
    offline = _offline(settings)
    rest = offline.engines if isinstance(offline, AutoEngine) else (offline,)
    return AutoEngine([GttsEngine(timeout=settings.tts_timeout_s), *rest])


_FACTORIES: dict[str, EngineFactory] = {
    "gtts": _gtts,
    "espeak": _espeak,
    "piper": _piper,
    "offline": _offline,
    "auto": _auto,
}
if set(_FACTORIES) != set(TTS_ENGINES):
    raise RuntimeError(
        f"broadcaster.config.TTS_ENGINES {sorted(TTS_ENGINES)} and the engine registry "
        f"{sorted(_FACTORIES)} disagree: add the name or the factory"
    )

ENGINES: Mapping[str, EngineFactory] = MappingProxyType({n: _FACTORIES[n] for n in TTS_ENGINES})


def make_engine(settings: Settings) -> TTSEngine:
    """The engine ``settings.tts_engine`` names (ValueError for a name not registered)."""
    factory = ENGINES.get(settings.tts_engine)
    if factory is None:
        raise ValueError(f"unknown tts_engine {settings.tts_engine!r}: use {', '.join(ENGINES)}")
    return factory(settings)
