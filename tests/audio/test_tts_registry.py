"""The engine registry: the one list of engine names the config, the factory and the CLI use."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from audio.commands import render_command
from audio.tts.base import TTSEngine
from audio.tts.registry import ENGINES, make_engine
from broadcaster.config import TTS_ENGINES, ConfigError, Settings


def test_the_registry_has_a_factory_for_every_configurable_name() -> None:
    assert tuple(ENGINES) == TTS_ENGINES


@pytest.mark.parametrize("name", list(ENGINES))
def test_every_registered_engine_is_accepted_by_the_config_and_made(
    name: str, tmp_path: Path
) -> None:
    model = tmp_path / "vi.onnx"
    model.write_bytes(b"model")
    settings = Settings.load(env={}, tts_engine=name, piper_model=str(model))
    engine = make_engine(settings)
    assert isinstance(engine, TTSEngine)
    assert engine.name == name or name in ("offline", "auto")


def test_the_config_names_the_registered_engines_when_refusing_one() -> None:
    with pytest.raises(ConfigError, match="one of gtts, espeak, piper, offline, auto, not 'x'"):
        Settings.load(env={}, tts_engine="x")


def test_the_render_command_offers_the_registered_engines_and_the_tone() -> None:
    option = next(p for p in render_command.params if p.name == "engine")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == [*ENGINES, "fake"]
