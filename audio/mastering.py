"""Mastering: chime, levelled mono speech, optional repetition, chime, then encoding."""

from __future__ import annotations

import io
import logging

from pydub import AudioSegment, effects
from pydub.exceptions import CouldntDecodeError

from audio.chime import make_chime

logger = logging.getLogger(__name__)

FRAME_RATE = 44100
HEADROOM_DB = 1.5
GAP_MS = 500  # between a chime and speech
REPEAT_GAP_MS = 900  # before "Xin nhắc lại", and between repetitions when there is no intro
INTRO_GAP_MS = 350  # after "Xin nhắc lại"
MAX_REPEAT = 5

# ffmpeg output options: one channel, no metadata or encoder version, so equal input gives
# equal bytes (and so the same content address) across runs.
_CODECS = {"mp3": "libmp3lame", "opus": "libopus"}
_DEMUXERS = {"mp3": "mp3", "opus": "ogg"}
_COMMON = ["-ac", "1", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]


def conform(audio: AudioSegment) -> AudioSegment:
    """Mono, 44.1 kHz, 16-bit."""
    return audio.set_channels(1).set_frame_rate(FRAME_RATE).set_sample_width(2)


def level(speech: AudioSegment) -> AudioSegment:
    """Bring speech to a standard level.

    For now a peak normalization to -HEADROOM_DB dBFS. This is the seam for the two-pass
    ffmpeg loudnorm (-16 LUFS integrated, true peak <= -1 dBTP) the design asks for.
    """
    return effects.normalize(speech, headroom=HEADROOM_DB)


def assemble(
    speech: AudioSegment,
    *,
    chime: bool = True,
    repeat: int = 1,
    repeat_intro: AudioSegment | None = None,
) -> AudioSegment:
    """The programme item as one segment: [chime] speech ([intro] speech)* [chime]."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise ValueError(f"repeat must be 1..{MAX_REPEAT}, not {repeat!r}")
    spoken = level(conform(speech))
    intro = level(conform(repeat_intro)) if repeat_intro is not None else None
    out = AudioSegment.silent(duration=0, frame_rate=FRAME_RATE)
    if chime:
        out += make_chime() + _silence(GAP_MS)
    out += spoken
    for _ in range(repeat - 1):
        out += _silence(REPEAT_GAP_MS)
        if intro is not None:
            out += intro + _silence(INTRO_GAP_MS)
        out += spoken
    if chime:
        out += _silence(GAP_MS) + make_chime(descending=True)
    return out


def encode(audio: AudioSegment, *, fmt: str = "mp3", bitrate: str = "64k") -> bytes:
    """Encode with ffmpeg (through pydub): mp3 (default) or opus, mono, at bitrate."""
    codec = _CODECS.get(fmt)
    if codec is None:
        raise ValueError(f"unsupported format {fmt!r}: use one of {', '.join(_CODECS)}")
    buf = io.BytesIO()
    audio.export(buf, format=fmt, codec=codec, bitrate=bitrate, parameters=_COMMON)
    return buf.getvalue()


def measure_ms(data: bytes, fmt: str) -> int:
    """The duration of encoded audio, by decoding it with ffmpeg."""
    try:
        decoded = AudioSegment.from_file(io.BytesIO(data), format=_DEMUXERS[fmt])
    except CouldntDecodeError as exc:
        raise RuntimeError(f"ffmpeg cannot decode the {fmt} it just encoded: {exc}") from exc
    return len(decoded)


def master(
    speech: AudioSegment,
    *,
    chime: bool = True,
    repeat: int = 1,
    repeat_intro: AudioSegment | None = None,
    fmt: str = "mp3",
    bitrate: str = "64k",
) -> tuple[bytes, int]:
    """Master speech for broadcast; return the encoded bytes and their real duration in ms."""
    if len(speech) == 0:
        raise ValueError("cannot master empty speech")
    programme = assemble(speech, chime=chime, repeat=repeat, repeat_intro=repeat_intro)
    data = encode(programme, fmt=fmt, bitrate=bitrate)
    duration_ms = measure_ms(data, fmt)
    logger.debug(
        "mastered %d ms of speech into %d ms, %d bytes", len(speech), duration_ms, len(data)
    )
    return data, duration_ms


def _silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=FRAME_RATE)
