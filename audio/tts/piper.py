"""Piper, an optional offline neural engine: used only with an installed voice model file.

Nothing is downloaded at run time: an admin installs the `piper` executable and a Vietnamese
voice model (e.g. vi_VN-vais1000-medium.onnx with its .onnx.json) and configures the path.
"""

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


class PiperEngine:
    """Runs piper with the text on stdin (-m MODEL -f OUT.wav) and reads its WAV."""

    name = "piper"

    def __init__(
        self,
        model: str | Path,
        *,
        executable: str = "piper",
        speaker: int | None = None,
        timeout: float = 120.0,
    ) -> None:
        if not str(model):
            raise ValueError("piper needs a voice model file")
        self.model = Path(model)
        self.executable = executable
        self.speaker = speaker
        self.timeout = timeout

    @staticmethod
    def available(model: str | Path | None, executable: str = "piper") -> bool:
        """True when a model file is configured and present and the executable is installed."""
        return bool(model) and Path(str(model)).is_file() and shutil.which(executable) is not None

    @property
    def voice_id(self) -> str:
        """What decides the sound: the model file (name, size, modification time), the speaker."""
        try:
            stat = self.model.stat()
            stamp = f"{stat.st_size}-{stat.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        return f"{self.model.name}:{stamp}:{self.speaker if self.speaker is not None else ''}"

    def synthesize(self, text: str) -> Speech:
        """Synthesize the text into a temporary WAV and load it."""
        require_text(self.name, text)
        exe = shutil.which(self.executable)
        if exe is None:
            raise TTSError(self.name, f"{self.executable} is not installed")
        if not self.model.is_file():
            raise TTSError(self.name, f"voice model {self.model} does not exist")
        with tempfile.TemporaryDirectory(prefix="piper-") as tmp:
            out = Path(tmp) / "out.wav"
            self._run(exe, " ".join(text.split()), out)
            audio = self._load(out)
        logger.debug("piper: %d chars -> %d ms", len(text), len(audio))
        return Speech(audio=require_audio(self.name, audio), engine=self.name)

    def _run(self, exe: str, text: str, out: Path) -> None:
        cmd = [exe, "-m", str(self.model), "-f", str(out)]
        if self.speaker is not None:
            cmd += ["--speaker", str(self.speaker)]
        try:
            proc = subprocess.run(
                cmd, input=(text + "\n").encode("utf-8"), capture_output=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise TTSError(self.name, f"piper timed out after {self.timeout:g} s") from exc
        except OSError as exc:
            raise TTSError(self.name, f"cannot run {exe}: {exc}") from exc
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace").strip()[-500:]
            raise TTSError(self.name, f"piper exited with {proc.returncode}: {stderr}")

    def _load(self, out: Path) -> AudioSegment:
        try:
            with out.open("rb") as fh:
                return AudioSegment.from_wav(fh)
        except (OSError, EOFError, wave.Error) as exc:
            raise TTSError(self.name, f"piper wrote no readable WAV: {exc}") from exc
