"""Mastering: chime, loudness-normalized mono speech, optional repetition, chime, then encoding.

The programme is assembled at the speech's own level (16-bit mono, 44.1 kHz), measured, and
handed to ffmpeg once: the gain/limiter chain to the loudness target runs in the same ffmpeg
process as the encoder, so the audio is never decoded, re-encoded or measured again after.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from audio.chime import make_chime
from audio.loudness import (
    SILENT_LUFS,
    TIMEOUT_S,
    LoudnessTarget,
    measure_encoded,
    measure_loudness,
    pcm_input,
    plan_leveling,
)

logger = logging.getLogger(__name__)

FRAME_RATE = 44100
CHIME_BELOW_SPEECH_LU = 3.0  # the chime sits this far under the speech: heard, not startling
GAP_MS = 500  # between a chime and speech
REPEAT_GAP_MS = 900  # before "Xin nhắc lại", and between repetitions when there is no intro
INTRO_GAP_MS = 350  # after "Xin nhắc lại"
MAX_REPEAT = 5
MIN_MEASURE_MS = 1000  # shorter parts are measured looped to this length (the meter gates 400 ms)
# Bump whenever the same speech, settings and target would master to other bytes (the chain,
# the chime, the gaps, the encoder options): the mastered-result cache keys on it.
MASTERING_VERSION = 2
MAX_ENCODES = 3  # an encode that misses the loudness target is redone from the PCM, nudged

# ffmpeg output options: one channel, no metadata or encoder version, so equal input gives
# equal bytes (and so the same content address) across runs.
_CODECS = {"mp3": "libmp3lame", "opus": "libopus"}
_MUXERS = {"mp3": "mp3", "opus": "opus"}
# How far under the true-peak target to level before encoding: what each encoder adds to the
# peaks (LAME at 64 kbps: up to about 1.4 dB over a long programme of limited speech).
_CODEC_MARGIN_DB = {"mp3": 1.5, "opus": 1.0}
# What each encoder takes off the integrated loudness (LAME at 64 kbps: about 0.4 LU); the
# programme is levelled this much above the target so the encoded file lands on it.
_CODEC_LOSS_LU = {"mp3": 0.4, "opus": 0.0}
_DEMUXERS = {"mp3": "mp3", "opus": "ogg"}
_COMMON = ["-ac", "1", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]


def conform(audio: AudioSegment) -> AudioSegment:
    """Mono, 44.1 kHz, 16-bit."""
    return audio.set_channels(1).set_frame_rate(FRAME_RATE).set_sample_width(2)


@lru_cache(maxsize=4)
def _chime_loudness(descending: bool) -> float:
    return measure_loudness(make_chime(descending=descending)).integrated


def chime_at(loudness: float, *, descending: bool = False) -> AudioSegment:
    """The chime scaled to the given integrated loudness (LUFS)."""
    chime = make_chime(descending=descending)
    return chime.apply_gain(loudness - _chime_loudness(descending))


def _loudness(part: AudioSegment) -> float:
    """Integrated loudness; a part shorter than the meter's 400 ms block is measured looped."""
    if 0 < len(part) < MIN_MEASURE_MS:
        part = part * -(-MIN_MEASURE_MS // len(part))
    return measure_loudness(part).integrated


def _matched(parts: list[AudioSegment]) -> tuple[list[AudioSegment], float]:
    """The parts turned down to the quietest one's loudness (never up: no clipping); a silent
    part is left as it is and does not count."""
    levels = [_loudness(part) for part in parts]
    heard = [lv for lv in levels if lv > SILENT_LUFS]
    if not heard:
        return parts, levels[0]
    common = min(heard)
    matched = [
        part.apply_gain(common - lv) if lv > SILENT_LUFS else part
        for part, lv in zip(parts, levels, strict=True)
    ]
    return matched, common


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
    return _assemble(speech, chime=chime, repeat=repeat, repeat_intro=repeat_intro)[0]


def _assemble(
    speech: AudioSegment, *, chime: bool, repeat: int, repeat_intro: AudioSegment | None
) -> tuple[AudioSegment, float]:
    """The programme and the loudness of the speech in it (LUFS)."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise ValueError(f"repeat must be 1..{MAX_REPEAT}, not {repeat!r}")
    parts = [conform(speech)]
    if repeat_intro is not None and repeat > 1:
        parts.append(conform(repeat_intro))
    parts, loudness = _matched(parts)
    spoken, intro = parts[0], (parts[1] if len(parts) > 1 else None)
    chime_level = loudness - CHIME_BELOW_SPEECH_LU
    out: list[AudioSegment] = []
    if chime:
        out += [chime_at(chime_level), _silence(GAP_MS)]
    out.append(spoken)
    for _ in range(repeat - 1):
        out.append(_silence(REPEAT_GAP_MS))
        if intro is not None:
            out += [intro, _silence(INTRO_GAP_MS)]
        out.append(spoken)
    if chime:
        out += [_silence(GAP_MS), chime_at(chime_level, descending=True)]
    # One join of the bytes (all parts are conformed): adding segments copies each time.
    programme = spoken._spawn(b"".join(conform(part).raw_data for part in out))
    return programme, loudness


def encode(
    audio: AudioSegment, *, fmt: str = "mp3", bitrate: str = "64k", chain: str = ""
) -> bytes:
    """Encode mono 44.1 kHz audio with ffmpeg, through the filter ``chain`` when given.

    mp3 (default) or opus, at bitrate. The PCM goes in on a pipe; the output goes to a file,
    which the muxer can seek back in (the MP3 gapless header, so decoders trim the encoder's
    padding and the duration is the input's to the sample).
    """
    codec = _CODECS.get(fmt)
    if codec is None:
        raise ValueError(f"unsupported format {fmt!r}: use one of {', '.join(_CODECS)}")
    pcm = conform(audio).raw_data
    filters = ["-af", chain] if chain else []
    with tempfile.TemporaryDirectory(prefix="encode-") as tmp:
        out = Path(tmp) / f"out.{fmt}"
        cmd = ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-loglevel", "error"]
        cmd += [*pcm_input(), *filters, "-c:a", codec, "-b:a", bitrate, *_COMMON]
        cmd += ["-f", _MUXERS[fmt], "-y", str(out)]
        try:
            proc = subprocess.run(cmd, input=pcm, capture_output=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"cannot run ffmpeg to encode {fmt}: {exc}") from exc
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip()[-500:]
            raise RuntimeError(f"ffmpeg could not encode {fmt}: {tail}")
        return out.read_bytes()


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
    programme, speech_lufs = _assemble(
        speech, chime=chime, repeat=repeat, repeat_intro=repeat_intro
    )
    data = _encode_to_target(programme, speech_lufs, target or LoudnessTarget(), fmt, bitrate)
    duration_ms = len(programme)  # the encoders keep the length to the sample (see encode)
    logger.debug(
        "mastered %d ms of speech into %d ms, %d bytes", len(speech), duration_ms, len(data)
    )
    return data, duration_ms


def _encode_to_target(
    programme: AudioSegment, speech_lufs: float, target: LoudnessTarget, fmt: str, bitrate: str
) -> bytes:
    """Measure, level and encode; check the encoded audio, and encode again if it missed."""
    pcm = programme.raw_data
    margin = _CODEC_MARGIN_DB[fmt]
    aim = replace(target, integrated=min(-5.0, target.integrated + _CODEC_LOSS_LU[fmt]))
    leveling = plan_leveling(pcm, speech_lufs, aim, codec_margin_db=margin)
    for attempt in range(1, MAX_ENCODES + 1):
        if not leveling.measured:
            leveling = plan_leveling(
                pcm, speech_lufs, aim, limit_db=leveling.limit_db, codec_margin_db=margin
            )
        data = encode(programme, fmt=fmt, bitrate=bitrate, chain=leveling.chain)
        if not leveling.chain:
            return data  # silence, left as it is
        encoded = measure_encoded(data)
        again = leveling.after_encoding(encoded, target)
        if again is None:
            return data
        if attempt == MAX_ENCODES:
            logger.warning("mastering: the encoded %s still misses the target: %s", fmt, encoded)
            return data
        logger.info("mastering: %s came out at %s; encoding again", fmt, encoded)
        leveling = again
    raise AssertionError("unreachable")


def _silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=FRAME_RATE)
