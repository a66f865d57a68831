"""espeak-ng, the offline engine: robotic but always available."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from pydub import AudioSegment

from audio.tts.base import Speech, TTSError, require_audio, require_text

logger = logging.getLogger(__name__)

# espeak-ng's Vietnamese voices (`espeak-ng --voices=vi`), by the region whose accent they have.
VOICES = {"north": "vi", "central": "vi-vn-x-central", "south": "vi-vn-x-south"}


class EspeakEngine:
    """Runs espeak-ng with the text on stdin (never on the command line) and reads its WAV.

    voice is "north" (vi, the default), "central" or "south", or espeak-ng's own voice name.
    """

    name = "espeak"
    parallel = True  # a process per call, nothing shared: speak() may run a few at once

    def __init__(
        self,
        voice: str = "vi",
        speed: int = 150,
        *,
        timeout: float = 60.0,
        executable: str = "espeak-ng",
    ) -> None:
        if not 80 <= speed <= 450:
            raise ValueError(f"espeak speed must be 80..450 words per minute, not {speed!r}")
        voice = VOICES.get(voice, voice)
        if voice not in VOICES.values():
            choices = ", ".join(f"{k} ({v})" for k, v in VOICES.items())
            raise ValueError(f"unknown espeak voice {voice!r}: use one of {choices}")
        self.voice = voice
        self.speed = speed
        self.timeout = timeout
        self.executable = executable

    @property
    def voice_id(self) -> str:
        """What decides the sound: the voice and the speed."""
        return f"{self.voice}@{self.speed}"

    def synthesize(self, text: str) -> Speech:
        """Synthesize the text into a temporary WAV and load it."""
        require_text(self.name, text)
        exe = shutil.which(self.executable)
        if exe is None:
            raise TTSError(self.name, f"{self.executable} is not installed (apt install espeak-ng)")
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            out = Path(tmp) / "out.wav"
            self._run(exe, text, out)
            audio = self._load(out)
        logger.debug("espeak: %d chars -> %d ms", len(text), len(audio))
        return Speech(audio=require_audio(self.name, audio), engine=self.name)

    def _run(self, exe: str, text: str, out: Path) -> None:
        cmd = [exe, "-v", self.voice, "-s", str(self.speed), "-w", str(out), "--stdin"]
        try:
            proc = subprocess.run(
                cmd, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise TTSError(self.name, f"espeak-ng timed out after {self.timeout:g} s") from exc
        except OSError as exc:
            raise TTSError(self.name, f"cannot run {exe}: {exc}") from exc
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace").strip()[:500]
            raise TTSError(self.name, f"espeak-ng exited with {proc.returncode}: {stderr}")

    def _load(self, out: Path) -> AudioSegment:
        try:
            with out.open("rb") as fh:  # pydub leaks the handle when given a path
                return AudioSegment.from_wav(fh)
        except (OSError, EOFError, wave.Error) as exc:
            raise TTSError(self.name, f"espeak-ng wrote no readable WAV: {exc}") from exc
