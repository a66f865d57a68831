"""Mastering on real ffmpeg: valid 64 kbps mono MP3 of the expected length."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from audio.chime import make_chime
from audio.loudness import LoudnessTarget, measure_encoded, measure_loudness, normalize_loudness
from audio.mastering import (
    CHIME_BELOW_SPEECH_LU,
    GAP_MS,
    INTRO_GAP_MS,
    REPEAT_GAP_MS,
    assemble,
    master,
    measure_ms,
)
from audio.tts.espeak import EspeakEngine

Probe = Callable[[bytes], dict[str, Any]]
Loudness = Callable[[bytes], tuple[float, float]]
TOLERANCE_MS = 60


def test_mp3_is_mono_64k_and_as_long_as_its_parts(
    espeak: EspeakEngine, vi_text: str, ffprobe: Probe
) -> None:
    speech = espeak.synthesize(vi_text).audio  # 22.05 kHz from espeak-ng: resampled
    data, duration_ms = master(speech)
    info = ffprobe(data)
    assert info["format"]["format_name"] == "mp3"
    assert info["stream"]["codec_name"] == "mp3"
    assert info["stream"]["channels"] == 1
    assert info["stream"]["sample_rate"] == "44100"
    assert int(info["stream"]["bit_rate"]) == 64000
    expected = 2 * len(make_chime()) + 2 * GAP_MS + len(speech)
    assert duration_ms == pytest.approx(expected, abs=TOLERANCE_MS)
    assert float(info["format"]["duration"]) * 1000 == pytest.approx(duration_ms, abs=100)
    decoded = AudioSegment.from_file(io.BytesIO(data), format="mp3")
    assert decoded.dBFS > -40
    assert decoded.max_dBFS > -6


def test_repeat_adds_intro_and_speech(tone: AudioSegment) -> None:
    intro = Sine(500).to_audio_segment(700, volume=-20.0)
    _, once = master(tone)
    _, twice = master(tone, repeat=2, repeat_intro=intro)
    _, thrice = master(tone, repeat=3, repeat_intro=intro)
    step = REPEAT_GAP_MS + len(intro) + INTRO_GAP_MS + len(tone)
    assert twice - once == pytest.approx(step, abs=TOLERANCE_MS)
    assert thrice - once == pytest.approx(2 * step, abs=TOLERANCE_MS)


def test_repeat_without_intro_and_without_chime(tone: AudioSegment) -> None:
    _, duration_ms = master(tone, chime=False, repeat=2)
    assert duration_ms == pytest.approx(2 * len(tone) + REPEAT_GAP_MS, abs=TOLERANCE_MS)


def test_assemble_is_mono_44k(tone: AudioSegment) -> None:
    programme = assemble(tone.apply_gain(-20), chime=False)
    assert programme.channels == 1
    assert programme.frame_rate == 44100
    assert len(programme) == pytest.approx(len(tone), abs=5)


@pytest.mark.parametrize(("fmt", "repeat"), [("mp3", 1), ("mp3", 2), ("opus", 2)])
def test_espeak_speech_meets_the_default_loudness_target(
    espeak: EspeakEngine, vi_text: str, ebur128: Loudness, fmt: str, repeat: int
) -> None:
    speech = espeak.synthesize(vi_text).audio  # peaky speech: needs the limiter path
    intro = espeak.synthesize("Xin nhắc lại").audio
    data, _ = master(speech, repeat=repeat, repeat_intro=intro, fmt=fmt)
    integrated, true_peak = ebur128(data)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.5


@pytest.mark.parametrize("gain_db", [-30.0, 0.0])
def test_quiet_and_loud_input_meet_a_custom_target(
    tone: AudioSegment, ebur128: Loudness, gain_db: float
) -> None:
    target = LoudnessTarget(integrated=-20.0, true_peak=-3.0)
    data, _ = master(tone.apply_gain(gain_db), target=target)
    integrated, true_peak = ebur128(data)
    assert integrated == pytest.approx(-20.0, abs=1.0)
    assert true_peak <= -3.0


def test_chime_sits_under_the_speech(tone: AudioSegment) -> None:
    programme = assemble(tone, chime=True)
    speech = measure_loudness(tone).integrated
    chime = measure_loudness(programme[: len(make_chime())]).integrated
    assert chime == pytest.approx(speech - CHIME_BELOW_SPEECH_LU, abs=0.5)


def test_intro_is_matched_to_the_speech(tone: AudioSegment) -> None:
    loud_intro = Sine(500).to_audio_segment(1000, volume=-3.0)
    programme = assemble(tone, chime=False, repeat=2, repeat_intro=loud_intro)
    start = len(tone) + REPEAT_GAP_MS
    intro = measure_loudness(programme[start : start + 1000]).integrated
    assert intro == pytest.approx(measure_loudness(tone).integrated, abs=0.5)


def test_silence_is_left_alone() -> None:
    silence = AudioSegment.silent(duration=1000, frame_rate=44100)
    assert normalize_loudness(silence).raw_data == silence.raw_data


@pytest.mark.parametrize("kwargs", [{"integrated": -60.0}, {"true_peak": 1.0}, {"lra": 0.0}])
def test_bad_targets_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="target"):
        LoudnessTarget(**kwargs)


def test_encoded_measurement_agrees_with_ffmpeg(tone: AudioSegment, ebur128: Loudness) -> None:
    data, _ = master(tone, chime=False)
    measured = measure_encoded(data)
    assert (measured.integrated, measured.true_peak) == pytest.approx(ebur128(data), abs=0.05)


def test_stereo_input_is_mixed_to_mono(tone: AudioSegment, ffprobe: Probe) -> None:
    stereo = AudioSegment.from_mono_audiosegments(tone, tone)
    data, _ = master(stereo, chime=False)
    assert ffprobe(data)["stream"]["channels"] == 1


def test_same_input_gives_same_bytes(tone: AudioSegment) -> None:
    assert master(tone)[0] == master(tone)[0]


def test_opus_is_available(tone: AudioSegment, ffprobe: Probe) -> None:
    data, duration_ms = master(tone, chime=False, fmt="opus", bitrate="32k")
    info = ffprobe(data)
    assert info["stream"]["codec_name"] == "opus"
    assert info["stream"]["channels"] == 1
    assert duration_ms == pytest.approx(len(tone), abs=TOLERANCE_MS)
    assert measure_ms(data, "opus") == duration_ms


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"repeat": 0}, "repeat"), ({"repeat": 9}, "repeat"), ({"fmt": "wma"}, "format")],
)
def test_bad_arguments_are_rejected(tone: AudioSegment, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        master(tone, **kwargs)


def test_empty_speech_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        master(AudioSegment.empty())


def test_a_short_intro_is_matched_not_taken_for_silence(
    tone: AudioSegment, ebur128: Loudness
) -> None:
    short_intro = Sine(500).to_audio_segment(250, volume=-20.0)  # under the meter's 400 ms
    data, _ = master(tone, repeat=2, repeat_intro=short_intro)
    integrated, true_peak = ebur128(data)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.5
