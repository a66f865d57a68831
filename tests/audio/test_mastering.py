"""Mastering on real ffmpeg: valid 64 kbps mono MP3 of the expected length."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from audio.chime import make_chime
from audio.mastering import GAP_MS, INTRO_GAP_MS, REPEAT_GAP_MS, assemble, master, measure_ms
from audio.tts.espeak import EspeakEngine

Probe = Callable[[bytes], dict[str, Any]]
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
    assert decoded.max_dBFS > -3


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


def test_speech_is_normalized_to_the_headroom(tone: AudioSegment) -> None:
    quiet = tone.apply_gain(-20)
    programme = assemble(quiet, chime=False)
    assert programme.max_dBFS == pytest.approx(-1.5, abs=0.1)
    assert programme.channels == 1
    assert programme.frame_rate == 44100


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
