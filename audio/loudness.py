"""Loudness: two-pass ffmpeg loudnorm to a target, and EBU R128 measurement of encoded audio.

Speech from TTS engines has a high peak-to-loudness ratio (espeak-ng: about 18 dB), so a
linear gain to -16 LUFS would push its true peak over 0 dBTP, and loudnorm would fall back
to its dynamic mode, which misses the integrated target by a loudness unit or more. So when
the linear gain does not fit, a look-ahead limiter first takes the peaks down (in the same
ffmpeg filter chain, in floating point), and the second loudnorm pass is then linear.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import subprocess
from dataclasses import dataclass

from pydub import AudioSegment

logger = logging.getLogger(__name__)

FRAME_RATE = 44100
# Lossy encoders overshoot true peaks a little; aim this far under the target before encoding.
CODEC_MARGIN_DB = 0.5
# Where the limiter starts, below the true-peak goal (the linear pass adds back what it takes).
LIMIT_HEADROOM_DB = 2.0
MAX_LIMIT_TRIES = 3
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
class _Pass1:
    i: float
    tp: float
    lra: float
    thresh: float


def _wav(audio: AudioSegment) -> bytes:
    buf = io.BytesIO()
    audio.export(buf, format="wav")
    return buf.getvalue()


def _ffmpeg(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-i", "pipe:0", *args]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LoudnessError(f"ffmpeg timed out after {TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise LoudnessError(f"cannot run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip()[-500:]
        raise LoudnessError(f"ffmpeg exited with {proc.returncode}: {tail}")
    return proc


def _loudnorm_json(stderr: bytes) -> dict[str, str]:
    text = stderr.decode("utf-8", "replace")
    start = text.rfind("{")
    end = text.rfind("}")
    if start < 0 or end < start:
        raise LoudnessError("ffmpeg loudnorm printed no measurement")
    return json.loads(text[start : end + 1])


def _number(value: str) -> float:
    number = float(value)  # "-inf" for silence
    return number if math.isfinite(number) else -99.0


def _target_args(target: LoudnessTarget, true_peak: float) -> str:
    return f"I={target.integrated}:TP={true_peak}:LRA={target.lra}"


def _measure(wav: bytes, target: LoudnessTarget, tp_goal: float, prefilter: str) -> _Pass1:
    chain = f"{prefilter}loudnorm={_target_args(target, tp_goal)}:print_format=json"
    proc = _ffmpeg(["-af", chain, "-f", "null", "-"], wav)
    data = _loudnorm_json(proc.stderr)
    return _Pass1(
        i=_number(data["input_i"]),
        tp=_number(data["input_tp"]),
        lra=_number(data["input_lra"]),
        thresh=_number(data["input_thresh"]),
    )


def _limiter(gain_db: float, limit_db: float) -> str:
    limit = min(1.0, max(0.0625, 10 ** (limit_db / 20)))
    return f"volume={gain_db:.2f}dB,alimiter=limit={limit:.4f}:attack=2:release=40:level=disabled,"


def normalize_loudness(audio: AudioSegment, target: LoudnessTarget | None = None) -> AudioSegment:
    """Two-pass loudnorm (linear) to the target; silence is returned unchanged."""
    target = target or LoudnessTarget()
    tp_goal = target.true_peak - CODEC_MARGIN_DB
    wav = _wav(audio)
    measured = _measure(wav, target, tp_goal, "")
    if measured.i <= SILENT_LUFS:
        logger.debug("loudnorm: silent input (%.1f LUFS), left as is", measured.i)
        return audio
    prefilter = ""
    gain = target.integrated - measured.i
    limit_db = tp_goal - LIMIT_HEADROOM_DB
    tries = 0
    while measured.tp + (target.integrated - measured.i) > tp_goal and tries < MAX_LIMIT_TRIES:
        # The linear gain would push peaks over the goal: limit them first, then measure again.
        prefilter = _limiter(gain, limit_db)
        measured = _measure(wav, target, tp_goal, prefilter)
        excess = measured.tp + (target.integrated - measured.i) - tp_goal
        limit_db -= max(excess, 0.0) + 0.3
        tries += 1
    chain = (
        f"{prefilter}loudnorm={_target_args(target, tp_goal)}"
        f":measured_I={measured.i}:measured_TP={measured.tp}:measured_LRA={measured.lra}"
        f":measured_thresh={measured.thresh}:offset=0:linear=true:print_format=json,"
        f"aresample={FRAME_RATE}"
    )
    args = ["-af", chain, "-ac", "1", "-ar", str(FRAME_RATE), "-c:a", "pcm_s16le", "-f", "wav"]
    proc = _ffmpeg([*args, "pipe:1"], wav)
    result = _loudnorm_json(proc.stderr)
    if result.get("normalization_type") != "linear":
        logger.warning("loudnorm fell back to %s mode", result.get("normalization_type"))
    logger.debug(
        "loudnorm: %.1f LUFS / %.1f dBTP -> %s LUFS / %s dBTP (%s)",
        measured.i,
        measured.tp,
        result.get("output_i"),
        result.get("output_tp"),
        "limited" if prefilter else "linear",
    )
    return AudioSegment.from_file(io.BytesIO(proc.stdout), format="wav")


def measure_loudness(audio: AudioSegment, *, true_peak: bool = False) -> Loudness:
    """Integrated loudness of a segment (true peak too when asked; it costs an upsampling)."""
    return _ebur128(_wav(audio), true_peak=true_peak)


def measure_encoded(data: bytes) -> Loudness:
    """EBU R128 integrated loudness and true peak of encoded audio (ffmpeg's ebur128 filter)."""
    return _ebur128(data, true_peak=True)


_EBUR128_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS", re.S)
_EBUR128_TP = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf) dBFS", re.S)


def _ebur128(data: bytes, *, true_peak: bool) -> Loudness:
    chain = "ebur128=peak=true" if true_peak else "ebur128"
    proc = _ffmpeg(["-af", chain, "-f", "null", "-"], data)
    text = proc.stderr.decode("utf-8", "replace")
    summary = text[text.rfind("Summary:") :]
    i_match = _EBUR128_I.search(summary)
    tp_match = _EBUR128_TP.search(summary)
    if i_match is None or (true_peak and tp_match is None):
        raise LoudnessError("ffmpeg ebur128 printed no summary")
    peak = _number(tp_match.group(1)) if tp_match is not None else math.nan
    return Loudness(integrated=_number(i_match.group(1)), true_peak=peak)
