"""The TTS engine interface: a Protocol, its result and its one error type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydub import AudioSegment


class TTSError(RuntimeError):
    """A TTS engine could not synthesize the text; the message names the engine and the cause."""

    def __init__(self, engine: str, cause: str) -> None:
        super().__init__(engine, cause)
        self.engine = engine
        self.cause = cause

    def __str__(self) -> str:
        return f"TTS engine {self.engine!r} failed: {self.cause}"


@dataclass(frozen=True)
class Speech:
    """Synthesized speech and the name of the engine that actually spoke it."""

    audio: AudioSegment
    engine: str


@runtime_checkable
class TTSEngine(Protocol):
    """Turns text into speech; raises TTSError when it cannot, ValueError on blank text."""

    name: str

    def synthesize(self, text: str) -> Speech: ...


def require_text(engine: str, text: str) -> None:
    """Raise ValueError when there is nothing to say (a caller bug, not an engine failure)."""
    if not text.strip():
        raise ValueError(f"{engine}: nothing to synthesize, the text is blank")


def require_audio(engine: str, audio: AudioSegment) -> AudioSegment:
    """Raise TTSError when an engine produced no audio at all."""
    if len(audio) == 0:
        raise TTSError(engine, "the engine produced no audio")
    return audio
