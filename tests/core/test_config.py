"""Server settings: file, environment, and clear errors for unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.config import ConfigError, Settings


def test_defaults_are_valid() -> None:
    s = Settings.load(env={})
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.tts_engine == "auto"


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('mqtt_port = 1999\ntopic_root = "xa/v1"\n')
    s = Settings.load(f, env={"BROADCASTER_MQTT_PORT": "2000"})
    assert (s.mqtt_port, s.topic_root) == (2000, "xa/v1")


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('mqtt_port = 1999\nmqtt_hots = "x"\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: unknown setting 'mqtt_hots'"):
        Settings.load(f, env={})


def test_unknown_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="BROADCASTER_MQTT_PORTT"):
        Settings.load(env={"BROADCASTER_MQTT_PORTT": "1"})


def test_wrong_type_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="mqtt_port must be int"):
        Settings.load(env={"BROADCASTER_MQTT_PORT": "abc"})
    with pytest.raises(ConfigError, match="tts_engine"):
        Settings.load(env={}, tts_engine="festival")


def test_relative_paths_are_anchored_at_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.load(env={}, media_dir="data/media")
    assert s.media_dir == str(tmp_path / "data/media")
    assert Path(s.signing_key_file).is_absolute()
