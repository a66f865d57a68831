"""Mastering: chime, loudness-normalized mono speech, optional repetition, chime, then encoding."""

from __future__ import annotations

import io
import logging
from functools import lru_cache

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from audio.chime import make_chime
from audio.loudness import LoudnessTarget, measure_loudness, normalize_loudness

logger = logging.getLogger(__name__)

FRAME_RATE = 44100
CHIME_BELOW_SPEECH_LU = 3.0  # the chime sits this far under the speech: heard, not startling
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


def level(speech: AudioSegment, target: LoudnessTarget | None = None) -> AudioSegment:
    """Bring speech to the loudness target (two-pass ffmpeg loudnorm, see audio.loudness)."""
    return conform(normalize_loudness(conform(speech), target or LoudnessTarget()))


@lru_cache(maxsize=4)
def _chime_loudness(descending: bool) -> float:
    return measure_loudness(make_chime(descending=descending)).integrated


def chime_at(loudness: float, *, descending: bool = False) -> AudioSegment:
    """The chime scaled to the given integrated loudness (LUFS)."""
    chime = make_chime(descending=descending)
    return chime.apply_gain(loudness - _chime_loudness(descending))


def _matched(parts: list[AudioSegment]) -> tuple[list[AudioSegment], float]:
    """The parts turned down to the quietest one's loudness (never up: no clipping)."""
    levels = [measure_loudness(part).integrated for part in parts]
    common = min(levels)
    return [part.apply_gain(common - lv) for part, lv in zip(parts, levels, strict=True)], common


def assemble(
    speech: AudioSegment,
    *,
    chime: bool = True,
    repeat: int = 1,
    repeat_intro: AudioSegment | None = None,
) -> AudioSegment:
    """The programme item as one segment: [chime] speech ([intro] speech)* [chime].

    Speech and intro are matched in loudness and the chime sits CHIME_BELOW_SPEECH_LU under
    them; master() then brings the whole to the loudness target.
    """
    if not 1 <= repeat <= MAX_REPEAT:
        raise ValueError(f"repeat must be 1..{MAX_REPEAT}, not {repeat!r}")
    parts = [conform(speech)]
    if repeat_intro is not None and repeat > 1:
        parts.append(conform(repeat_intro))
    parts, loudness = _matched(parts)
    spoken, intro = parts[0], (parts[1] if len(parts) > 1 else None)
    out = AudioSegment.silent(duration=0, frame_rate=FRAME_RATE)
    if chime:
        out += chime_at(loudness - CHIME_BELOW_SPEECH_LU) + _silence(GAP_MS)
    out += spoken
    for _ in range(repeat - 1):
        out += _silence(REPEAT_GAP_MS)
        if intro is not None:
            out += intro + _silence(INTRO_GAP_MS)
        out += spoken
    if chime:
        out += _silence(GAP_MS) + chime_at(loudness - CHIME_BELOW_SPEECH_LU, descending=True)
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
    target: LoudnessTarget | None = None,
) -> tuple[bytes, int]:
    """Master speech for broadcast; return the encoded bytes and their real duration in ms."""
    if len(speech) == 0:
        raise ValueError("cannot master empty speech")
    if fmt not in _CODECS:
        raise ValueError(f"unsupported format {fmt!r}: use one of {', '.join(_CODECS)}")
    target = target or LoudnessTarget()
    programme = assemble(speech, chime=chime, repeat=repeat, repeat_intro=repeat_intro)
    programme = level(programme, target)
    data = encode(programme, fmt=fmt, bitrate=bitrate)
    duration_ms = measure_ms(data, fmt)
    logger.debug(
        "mastered %d ms of speech into %d ms, %d bytes", len(speech), duration_ms, len(data)
    )
    return data, duration_ms


def _silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=FRAME_RATE)
