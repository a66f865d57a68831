"""AutoEngine fallback and make_engine."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import responses

from audio.tts.auto import AutoEngine
from audio.tts.base import TTSError
from audio.tts.espeak import EspeakEngine
from audio.tts.fake import FakeEngine
from audio.tts.gtts import GttsEngine
from audio.tts.piper import PiperEngine
from audio.tts.registry import make_engine
from broadcaster.config import Settings

URL = "https://translate.google.com.vn/_/TranslateWebserverUi/data/batchexecute"


def test_falls_back_to_espeak_when_gtts_is_offline(
    caplog: pytest.LogCaptureFixture, vi_text: str
) -> None:
    engine = AutoEngine([GttsEngine(retries=0), EspeakEngine()])
    with responses.RequestsMock() as rsps, caplog.at_level(logging.WARNING):
        rsps.add(responses.POST, URL, status=503)
        speech = engine.synthesize(vi_text)
    assert speech.engine == "espeak"
    assert speech.audio.duration_seconds > 1.0
    assert "trying espeak" in caplog.text
    assert "503" in caplog.text


def test_first_engine_that_works_speaks() -> None:
    first, second = FakeEngine("a"), FakeEngine("b")
    assert AutoEngine([first, second]).synthesize("Xin chào").engine == "a"
    assert second.calls == []


def test_all_failing_names_every_cause() -> None:
    engine = AutoEngine([FakeEngine("a", fail=True), FakeEngine("b", fail=True)])
    with pytest.raises(TTSError, match=r"'auto'.*all engines failed.*'a'.*'b'"):
        engine.synthesize("Xin chào")


def test_blank_text_is_not_a_fallback_case() -> None:
    second = FakeEngine("b")
    with pytest.raises(ValueError):
        AutoEngine([FakeEngine("a"), second]).synthesize(" ")
    assert second.calls == []


def test_needs_an_engine() -> None:
    with pytest.raises(ValueError):
        AutoEngine([])


def test_make_engine_follows_settings(settings: Settings) -> None:
    assert isinstance(make_engine(settings), EspeakEngine)
    gtts = make_engine(settings.replace(tts_engine="gtts", tts_timeout_s=4.0))
    assert isinstance(gtts, GttsEngine)
    assert gtts.timeout == 4.0
    auto = make_engine(settings.replace(tts_engine="auto"))
    assert isinstance(auto, AutoEngine)
    assert [e.name for e in auto.engines] == ["gtts", "espeak"]


def test_make_engine_uses_the_regional_voice(settings: Settings) -> None:
    engine = make_engine(settings.replace(tts_voice="south"))
    assert isinstance(engine, EspeakEngine)
    assert engine.voice == "vi-vn-x-south"
    auto = make_engine(settings.replace(tts_engine="auto", tts_voice="central"))
    assert isinstance(auto, AutoEngine)
    assert auto.engines[1].voice == "vi-vn-x-central"  # type: ignore[attr-defined]


def test_make_engine_prefers_piper_offline_when_installed(
    settings: Settings, tmp_path: Path
) -> None:
    model = tmp_path / "vi.onnx"
    model.write_bytes(b"model")
    exe = tmp_path / "piper"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    auto = make_engine(
        settings.replace(tts_engine="auto", piper_model=str(model), piper_executable=str(exe))
    )
    assert [e.name for e in auto.engines] == ["gtts", "piper", "espeak"]  # type: ignore[attr-defined]
    missing = make_engine(settings.replace(tts_engine="offline", piper_model=str(tmp_path / "x")))
    assert isinstance(missing, EspeakEngine)
    piper = make_engine(settings.replace(tts_engine="piper", piper_model=str(model)))
    assert isinstance(piper, PiperEngine)


def test_make_engine_rejects_unknown_names(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown tts_engine"):
        make_engine(settings.replace(tts_engine="festival"))
