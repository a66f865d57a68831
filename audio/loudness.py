"""Loudness: EBU R128 measurement (ffmpeg's ``ebur128``) and a gain/limiter chain to a target.

Speech from TTS engines has a high peak-to-loudness ratio (espeak-ng: about 18 dB), so a
linear gain to -16 LUFS would push its true peak over 0 dBTP. The chain is therefore always
``volume`` (the gain the speech's loudness asks for), a look-ahead ``alimiter`` a little under
the true-peak goal (transparent where the peaks stay under it, and without delay), and a final
``volume`` that corrects what the limiter and the chime changed. Measuring is ``ebur128`` (the
same BS.1770 integrated loudness as loudnorm, true peak at 4x oversampling), which is several
times cheaper than loudnorm's first pass: one pass over the speech without true peak, one over
the levelled programme with it; the chain is then applied once, where the audio is encoded.
"""

from __future__ import annotations

import io
import logging
import math
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment

logger = logging.getLogger(__name__)

FRAME_RATE = 44100
# Lossy encoders overshoot true peaks a little; aim this far under the target before encoding
# (master() measures what it encoded, and encodes again in the rare case it missed).
CODEC_MARGIN_DB = 0.5
# Where the limiter starts, below the true-peak goal: room for the correction gain after it,
# which gives back the loudness the limiter took (about 4 dB for espeak-ng's peaky speech at
# this depth; each further dB of limiting takes about 0.6 dB more loudness).
LIMIT_HEADROOM_DB = 4.0
LIMIT_STEP_DB = 0.3  # when not enough: lower the limiter by twice the excess and this much
MAX_LIMIT_TRIES = 4
# Encoded audio further than this from the integrated target is encoded again, nudged.
ENCODED_TOLERANCE_LU = 0.5
PEAK_SAFETY_DB = 0.1  # a nudge for the true peak aims this far under it
SILENT_LUFS = -70.0
TIMEOUT_S = 120.0


class LoudnessError(RuntimeError):
    """ffmpeg could not measure or normalize the audio."""


@dataclass(frozen=True)
class LoudnessTarget:
    """Integrated loudness (LUFS), maximum true peak (dBTP) and loudness range (LU)."""

    integrated: float = -16.0
    true_peak: float = -1.5
    lra: float = 11.0

    def __post_init__(self) -> None:
        if not -40.0 <= self.integrated <= -5.0:
            raise ValueError(f"loudness target must be -40..-5 LUFS, not {self.integrated}")
        if not -9.0 <= self.true_peak <= 0.0:
            raise ValueError(f"true peak target must be -9..0 dBTP, not {self.true_peak}")
        if not 1.0 <= self.lra <= 50.0:
            raise ValueError(f"loudness range target must be 1..50 LU, not {self.lra}")


@dataclass(frozen=True)
class Loudness:
    """A measurement: integrated loudness (LUFS) and true peak (dBTP)."""

    integrated: float
    true_peak: float


@dataclass(frozen=True)
class Leveling:
    """A gain, a limiter and a correction gain: the ffmpeg filter chain to the target."""

    gain_db: float
    limit_db: float
    correction_db: float = 0.0
    measured: bool = False  # the correction is known (else measure with plan_leveling)

    @property
    def chain(self) -> str:
        """The ffmpeg ``-af`` chain (empty for silence, which is left alone)."""
        if self.gain_db == 0.0 and self.limit_db >= 0.0 and self.correction_db == 0.0:
            return ""
        limit = min(1.0, max(0.0625, 10 ** (self.limit_db / 20)))
        return (
            f"volume={self.gain_db:.2f}dB,"
            f"alimiter=limit={limit:.4f}:attack=2:release=40:level=disabled:latency=1,"
            f"volume={self.correction_db:.2f}dB"
        )

    def after_encoding(self, encoded: Loudness, target: LoudnessTarget) -> Leveling | None:
        """None when the encoded audio meets the target; else the chain to encode again.

        Encoders lower the loudness a little and add to the true peak, more over a long
        programme with many peaks to overshoot. A peak over the target asks for a lower
        limiter (not less gain: MP3's overshoot is not linear in the gain); a loudness off by
        more than ENCODED_TOLERANCE_LU for a correction within the peak's room.
        """
        over = encoded.true_peak - target.true_peak
        off = encoded.integrated - target.integrated
        if over > 0:
            return Leveling(self.gain_db, self.limit_db - over - PEAK_SAFETY_DB - 0.2)
        if abs(off) <= ENCODED_TOLERANCE_LU:
            return None
        step = min(-off, target.true_peak - PEAK_SAFETY_DB - encoded.true_peak)
        return Leveling(self.gain_db, self.limit_db, self.correction_db + step, measured=True)


UNCHANGED = Leveling(gain_db=0.0, limit_db=0.0, measured=True)


def pcm_input(frame_rate: int = FRAME_RATE) -> list[str]:
    """ffmpeg input options for raw signed 16-bit mono PCM on stdin."""
    return ["-f", "s16le", "-ar", str(frame_rate), "-ac", "1", "-i", "pipe:0"]


def _ffmpeg(args: list[str], data: bytes, *, source: list[str] | None = None) -> bytes:
    """Run ffmpeg with data on stdin (``source``: its input options); return its stderr."""
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", *(source or ["-i", "pipe:0"])]
    try:
        proc = subprocess.run([*cmd, *args], input=data, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LoudnessError(f"ffmpeg timed out after {TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise LoudnessError(f"cannot run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip()[-500:]
        raise LoudnessError(f"ffmpeg exited with {proc.returncode}: {tail}")
    return proc.stderr


def _number(value: str) -> float:
    number = float(value)  # "-inf" for silence
    return number if math.isfinite(number) else -99.0


def plan_leveling(
    pcm: bytes,
    speech_lufs: float,
    target: LoudnessTarget | None = None,
    *,
    limit_db: float | None = None,
    codec_margin_db: float = CODEC_MARGIN_DB,
) -> Leveling:
    """The chain that brings a programme (raw s16le mono PCM) to the target.

    ``speech_lufs`` is the loudness of the speech in it (the programme is levelled by its
    speech, not its chime). The gained and limited programme is measured once with true peak;
    the correction gain then lands it on the target. If that would push the true peak over the
    goal the limiter is lowered and the programme measured again (rare: the limiter starts
    LIMIT_HEADROOM_DB under the goal, or at ``limit_db``). The goal is ``codec_margin_db``
    under the target's true peak, for what the encoder will add.
    """
    target = target or LoudnessTarget()
    if speech_lufs <= SILENT_LUFS:
        logger.debug("leveling: silent input (%.1f LUFS), left as is", speech_lufs)
        return UNCHANGED
    tp_goal = target.true_peak - codec_margin_db
    if limit_db is None:
        limit_db = tp_goal - LIMIT_HEADROOM_DB
    leveling = Leveling(target.integrated - speech_lufs, limit_db)
    for tries in range(1, MAX_LIMIT_TRIES + 1):
        measured = measure_pcm(pcm, chain=leveling.chain, true_peak=True)
        correction = target.integrated - measured.integrated
        excess = measured.true_peak + correction - tp_goal
        if excess <= 0 or tries == MAX_LIMIT_TRIES:
            # Out of tries: the true peak is a hard limit, the loudness has a tolerance.
            correction = min(correction, tp_goal - measured.true_peak)
            leveling = Leveling(leveling.gain_db, leveling.limit_db, correction, measured=True)
            break
        leveling = Leveling(leveling.gain_db, leveling.limit_db - 2 * excess - LIMIT_STEP_DB)
    logger.debug(
        "leveling: speech %.1f LUFS, gain %.2f dB, limit %.2f dBFS, correction %.2f dB",
        speech_lufs,
        leveling.gain_db,
        leveling.limit_db,
        leveling.correction_db,
    )
    return leveling


def normalize_loudness(audio: AudioSegment, target: LoudnessTarget | None = None) -> AudioSegment:
    """The segment (mono 44.1 kHz 16-bit) brought to the target; silence is returned unchanged."""
    mono = audio.set_channels(1).set_frame_rate(FRAME_RATE).set_sample_width(2)
    leveling = plan_leveling(mono.raw_data, measure_loudness(mono).integrated, target)
    if not leveling.chain:
        return audio
    with tempfile.TemporaryDirectory(prefix="level-") as tmp:
        out = Path(tmp) / "out.wav"
        args = ["-af", leveling.chain, "-c:a", "pcm_s16le", "-f", "wav", "-y", str(out)]
        _ffmpeg(args, mono.raw_data, source=pcm_input())
        with out.open("rb") as fh:
            return AudioSegment.from_wav(fh)


def measure_pcm(pcm: bytes, *, chain: str = "", true_peak: bool = False) -> Loudness:
    """EBU R128 of raw s16le mono 44.1 kHz PCM, after the filter ``chain`` when given."""
    return _ebur128(pcm, true_peak=true_peak, chain=chain, source=pcm_input())


def measure_loudness(audio: AudioSegment, *, true_peak: bool = False) -> Loudness:
    """Integrated loudness of a segment (true peak too when asked; it costs an upsampling)."""
    if audio.channels == 1 and audio.sample_width == 2:
        source = pcm_input(audio.frame_rate)
        return _ebur128(audio.raw_data, true_peak=true_peak, source=source)
    buf = io.BytesIO()
    audio.export(buf, format="wav")
    return _ebur128(buf.getvalue(), true_peak=true_peak)


def measure_encoded(data: bytes) -> Loudness:
    """EBU R128 integrated loudness and true peak of encoded audio (ffmpeg's ebur128 filter)."""
    return _ebur128(data, true_peak=True)


_EBUR128_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS", re.S)
_EBUR128_TP = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf) dBFS", re.S)


def _ebur128(
    data: bytes, *, true_peak: bool, chain: str = "", source: list[str] | None = None
) -> Loudness:
    meter = "ebur128=peak=true" if true_peak else "ebur128"
    chain = f"{chain},{meter}" if chain else meter
    stderr = _ffmpeg(["-af", chain, "-f", "null", "-"], data, source=source)
    text = stderr.decode("utf-8", "replace")
    summary = text[text.rfind("Summary:") :]
    i_match = _EBUR128_I.search(summary)
    tp_match = _EBUR128_TP.search(summary)
    if i_match is None or (true_peak and tp_match is None):
        raise LoudnessError("ffmpeg ebur128 printed no summary")
    peak = _number(tp_match.group(1)) if tp_match is not None else math.nan
    return Loudness(integrated=_number(i_match.group(1)), true_peak=peak)
