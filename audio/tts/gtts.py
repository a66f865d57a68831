"""Google Translate's TTS through the gTTS library (needs internet).

The API takes at most 100 characters per request, and gTTS's own tokenizer cuts wherever the
limit falls. So we split first (audio.split: sentences, clauses, words, never inside a number),
send each piece on its own, retry throttling (429) and server errors (5xx) with exponential
backoff, and join the pieces with pydub and natural pauses.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable

import requests
from gtts import gTTS, gTTSError
from gtts.lang import tts_langs
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from audio.pauses import join
from audio.split import speakable, split_text
from audio.tts.base import Speech, TTSError, require_audio, require_text

logger = logging.getLogger(__name__)

MAX_CHARS = 100  # gTTS.GOOGLE_TTS_MAX_CHARS
MAX_BACKOFF_S = 30.0


class GttsEngine:
    """Vietnamese speech from Google Translate; every request has a timeout."""

    name = "gtts"

    def __init__(
        self,
        timeout: float = 10.0,
        lang: str = "vi",
        tld: str = "com.vn",
        *,
        retries: int = 3,
        backoff_s: float = 1.0,
        min_interval_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"gtts timeout must be positive, not {timeout!r}")
        if lang not in tts_langs():
            raise ValueError(f"gtts does not support language {lang!r}")
        if retries < 0 or backoff_s < 0 or min_interval_s < 0:
            raise ValueError("gtts retries, backoff and interval must not be negative")
        self.timeout = timeout
        self.lang = lang
        self.tld = tld
        self.retries = retries
        self.backoff_s = backoff_s
        self.min_interval_s = min_interval_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_request = -float("inf")

    @property
    def voice_id(self) -> str:
        """What decides the sound: language and Google domain."""
        return f"{self.lang}@{self.tld}"

    def synthesize(self, text: str) -> Speech:
        """Split the text into pieces of at most 100 characters, fetch each, join with pauses."""
        require_text(self.name, text)
        started = time.monotonic()
        pieces = [p for p in split_text(text, MAX_CHARS) if any(ch.isalnum() for ch in p)]
        if not pieces:
            raise TTSError(self.name, f"no speakable text in {text[:40]!r}")
        segments = [self._decode(self._fetch_with_retries(speakable(p))) for p in pieces]
        audio = join(segments, pieces) if len(segments) > 1 else segments[0]
        logger.debug(
            "gtts: %d chars in %d pieces -> %d ms in %.2f s",
            len(text),
            len(pieces),
            len(audio),
            time.monotonic() - started,
        )
        return Speech(audio=require_audio(self.name, audio), engine=self.name)

    def _decode(self, mp3: bytes) -> AudioSegment:
        if not mp3:
            raise TTSError(self.name, "the TTS API returned no audio")
        try:
            return AudioSegment.from_file(io.BytesIO(mp3), format="mp3")
        except CouldntDecodeError as exc:
            raise TTSError(self.name, f"cannot decode the returned MP3: {exc}") from exc

    def _fetch_with_retries(self, piece: str) -> bytes:
        for attempt in range(self.retries + 1):
            self._throttle()
            try:
                return self._fetch(piece)
            except gTTSError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None or attempt == self.retries:
                    raise TTSError(self.name, _describe(exc, attempt + 1)) from exc
                logger.warning(
                    "gtts: %s; retry %d of %d in %.1f s", exc, attempt + 1, self.retries, delay
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _throttle(self) -> None:
        """Space requests at least min_interval_s apart, so a long text does not get us a 429."""
        wait = self._last_request + self.min_interval_s - self._monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request = self._monotonic()

    def _retry_delay(self, exc: gTTSError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        response = exc.rsp
        if response is None:
            # No response: a read timeout may pass; a refused or unresolvable host will not.
            timed_out = isinstance(exc.__context__, requests.Timeout) and not isinstance(
                exc.__context__, requests.ConnectionError
            )
            return self._backoff(attempt) if timed_out else None
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                return min(float(retry_after), MAX_BACKOFF_S)
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * 2**attempt, MAX_BACKOFF_S)

    def _fetch(self, piece: str) -> bytes:
        buf = io.BytesIO()
        # No gTTS pre-processing: the text is already normalized and within the length limit.
        tts = gTTS(
            piece, lang=self.lang, tld=self.tld, timeout=self.timeout, pre_processor_funcs=[]
        )
        try:
            tts.write_to_fp(buf)
        except requests.RequestException as exc:  # raised while reading a response body
            raise TTSError(self.name, f"request failed: {exc}") from exc
        except AssertionError as exc:  # gTTS asserts the text has speakable tokens
            raise TTSError(self.name, f"no speakable text: {exc}") from exc
        return buf.getvalue()


def _describe(exc: gTTSError, attempts: int) -> str:
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    return f"{exc}{tries}"
