"""Google Translate's TTS through the gTTS library (needs internet)."""

from __future__ import annotations

import io
import logging
import time

import requests
from gtts import gTTS, gTTSError
from gtts.lang import tts_langs
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from audio.tts.base import Speech, TTSError, require_audio, require_text

logger = logging.getLogger(__name__)


class GttsEngine:
    """Vietnamese speech from Google Translate; every request has a timeout."""

    name = "gtts"

    def __init__(self, timeout: float = 10.0, lang: str = "vi", tld: str = "com.vn") -> None:
        if timeout <= 0:
            raise ValueError(f"gtts timeout must be positive, not {timeout!r}")
        if lang not in tts_langs():
            raise ValueError(f"gtts does not support language {lang!r}")
        self.timeout = timeout
        self.lang = lang
        self.tld = tld

    def synthesize(self, text: str) -> Speech:
        """Fetch MP3 for the text (gTTS splits long text) and decode it."""
        require_text(self.name, text)
        started = time.monotonic()
        mp3 = self._fetch(text)
        if not mp3:
            raise TTSError(self.name, "the TTS API returned no audio")
        try:
            audio = AudioSegment.from_file(io.BytesIO(mp3), format="mp3")
        except CouldntDecodeError as exc:
            raise TTSError(self.name, f"cannot decode the returned MP3: {exc}") from exc
        logger.debug(
            "gtts: %d chars -> %d ms in %.2f s", len(text), len(audio), time.monotonic() - started
        )
        return Speech(audio=require_audio(self.name, audio), engine=self.name)

    def _fetch(self, text: str) -> bytes:
        buf = io.BytesIO()
        tts = gTTS(text, lang=self.lang, tld=self.tld, timeout=self.timeout)
        try:
            tts.write_to_fp(buf)
        except gTTSError as exc:
            raise TTSError(self.name, str(exc)) from exc
        except requests.RequestException as exc:  # raised while reading a response body
            raise TTSError(self.name, f"request failed: {exc}") from exc
        except AssertionError as exc:  # gTTS asserts the text has speakable tokens
            raise TTSError(self.name, f"no speakable text: {exc}") from exc
        return buf.getvalue()
