"""An in-memory engine for unit tests: a tone as long as the text would take to say."""

from __future__ import annotations

from pydub.generators import Sine

from audio.tts.base import Speech, TTSError, require_text


class FakeEngine:
    """Deterministic, instant "speech" (a quiet tone); fail=True makes it raise TTSError."""

    def __init__(self, name: str = "fake", *, ms_per_char: int = 60, fail: bool = False) -> None:
        self.name = name
        self.ms_per_char = ms_per_char
        self.fail = fail
        self.calls: list[str] = []

    @property
    def voice_id(self) -> str:
        """What decides the "sound": the tone length per character."""
        return f"tone@{self.ms_per_char}"

    def synthesize(self, text: str) -> Speech:
        """Record the call and return a 440 Hz tone, or raise when told to fail."""
        require_text(self.name, text)
        self.calls.append(text)
        if self.fail:
            raise TTSError(self.name, "told to fail")
        duration = max(200, self.ms_per_char * len(text))
        return Speech(audio=Sine(440).to_audio_segment(duration, volume=-12.0), engine=self.name)
