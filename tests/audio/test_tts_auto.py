"""AutoEngine fallback and make_engine."""

from __future__ import annotations

import logging

import pytest
import responses

from audio.tts import AutoEngine, EspeakEngine, GttsEngine, TTSError, make_engine
from audio.tts.fake import FakeEngine
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
