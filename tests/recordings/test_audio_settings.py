"""The audio settings (issue 3): defaults, file and environment, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.config import ConfigError, Settings


def test_audio_defaults_follow_the_design() -> None:
    s = Settings.load(env={})
    assert (s.tts_voice, s.audio_format, s.audio_bitrate) == ("north", "mp3", "64k")
    assert (s.loudness_target_lufs, s.true_peak_db) == (-16.0, -1.5)
    assert s.recording_max_bytes == 20 * 1024 * 1024
    assert s.recording_max_seconds == 600.0
    assert Path(s.render_cache_dir).is_absolute()


def test_audio_keys_from_file_and_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        'tts_engine = "offline"\ntts_voice = "central"\naudio_format = "opus"\n'
        "loudness_target_lufs = -18\nrecording_max_seconds = 120\n"
    )
    s = Settings.load(f, env={"BROADCASTER_TRUE_PEAK_DB": "-2", "BROADCASTER_AUDIO_BITRATE": "48k"})
    assert (s.tts_engine, s.tts_voice, s.audio_format) == ("offline", "central", "opus")
    assert (s.loudness_target_lufs, s.true_peak_db, s.audio_bitrate) == (-18.0, -2.0, "48k")
    assert s.recording_max_seconds == 120.0


def test_piper_needs_its_model_file() -> None:
    with pytest.raises(ConfigError, match="piper_model"):
        Settings.load(env={}, tts_engine="piper")
    s = Settings.load(env={}, tts_engine="piper", piper_model="/opt/piper/vi.onnx")
    assert s.piper_executable == "piper"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("tts_voice", "hanoi", "tts_voice must be one of north, central, south"),
        ("audio_format", "wav", "audio_format must be mp3 or opus"),
        ("audio_bitrate", "64kbps", "audio_bitrate must look like 64k"),
        ("loudness_target_lufs", 0.0, "loudness_target_lufs must be -40..-5"),
        ("true_peak_db", 1.0, "true_peak_db must be -9..0"),
        ("render_cache_max_bytes", -1, "render_cache_max_bytes"),
        ("recording_max_bytes", 10, "recording_max_bytes must be at least 1024"),
        ("recording_max_seconds", 0.0, "recording_max_seconds must be 1..3600"),
    ],
)
def test_bad_audio_values_are_named(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env={}, **{key: value})


def test_wrong_type_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigError, match="recording_max_bytes must be int"):
        Settings.load(env={"BROADCASTER_RECORDING_MAX_BYTES": "20MB"})
