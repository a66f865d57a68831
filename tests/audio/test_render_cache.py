"""The render cache: an edit re-synthesizes only the changed sentence; voices never mix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydub.generators import Sine

from audio.cache import RenderCache
from audio.render import render_text
from audio.speak import speak
from audio.store import MediaStore
from audio.tts.auto import AutoEngine
from audio.tts.base import TTSError
from audio.tts.espeak import EspeakEngine
from audio.tts.fake import FakeEngine

ORIGINAL = (
    "Thông báo của UBND xã. Họp lúc 7h30 ngày 3/11/2026 tại nhà văn hóa. "
    "Đề nghị bà con đến đúng giờ."
)
EDITED = (
    "Thông báo của UBND xã. Họp lúc 8h00 ngày 3/11/2026 tại nhà văn hóa. "
    "Đề nghị bà con đến đúng giờ."
)


@pytest.fixture
def cache(tmp_path: Path) -> RenderCache:
    return RenderCache(tmp_path / "cache")


def test_an_edit_resynthesizes_only_the_changed_sentence(
    store: MediaStore, cache: RenderCache
) -> None:
    engine = FakeEngine()
    first = render_text(ORIGINAL, engine=engine, store=store, cache=cache)
    assert len(engine.calls) == 3
    engine.calls.clear()
    again = render_text(ORIGINAL, engine=engine, store=store, cache=cache)
    assert engine.calls == []
    assert again == first
    edited = render_text(EDITED, engine=engine, store=store, cache=cache)
    assert engine.calls == [
        "họp lúc tám giờ ngày ba tháng mười một năm "
        "hai nghìn không trăm hai mươi sáu tại nhà văn hóa."
    ]
    assert edited.sha256 != first.sha256


def test_cached_and_fresh_renders_are_identical(store: MediaStore, cache: RenderCache) -> None:
    fresh = render_text(ORIGINAL, engine=FakeEngine(), store=store)
    render_text(ORIGINAL, engine=FakeEngine(), store=store, cache=cache)
    cached = render_text(ORIGINAL, engine=FakeEngine(), store=store, cache=cache)
    assert cached == fresh


def test_repeat_intro_is_cached_too(store: MediaStore, cache: RenderCache) -> None:
    engine = FakeEngine()
    render_text("Một.", engine=engine, store=store, cache=cache, repeat=2)
    render_text("Hai.", engine=engine, store=store, cache=cache, repeat=2)
    assert engine.calls == ["một.", "xin nhắc lại", "hai."]


def test_key_depends_on_engine_voice_and_text() -> None:
    keys = {
        RenderCache.key("espeak", "vi@150", "xin chào"),
        RenderCache.key("espeak", "vi-vn-x-south@150", "xin chào"),
        RenderCache.key("gtts", "vi@com.vn", "xin chào"),
        RenderCache.key("espeak", "vi@150", "xin chào."),
    }
    assert len(keys) == 4


def test_another_voice_does_not_reuse_the_cache(cache: RenderCache) -> None:
    slow, fast = FakeEngine(ms_per_char=60), FakeEngine(ms_per_char=30)
    speak(slow, ["xin chào."], cache=cache)
    speak(fast, ["xin chào."], cache=cache)
    assert slow.calls == fast.calls == ["xin chào."]


def test_fallback_is_for_the_whole_announcement(cache: RenderCache) -> None:
    class FailsOnSecond(FakeEngine):
        def synthesize(self, text: str):  # type: ignore[no-untyped-def]
            if len(self.calls) == 1:
                self.calls.append(text)
                raise TTSError(self.name, "throttled")
            return super().synthesize(text)

    online, offline = FailsOnSecond("gtts"), FakeEngine("espeak")
    spoken = speak(AutoEngine([online, offline]), ["một.", "hai.", "ba."], cache=cache)
    assert spoken.engine == "espeak"
    assert offline.calls == ["một.", "hai.", "ba."]  # all three in one voice
    # Google's first piece was cached under gtts; the espeak pieces under espeak.
    online.calls.clear()
    assert speak(online, ["một."], cache=cache).synthesized == 0


def test_all_engines_failing_names_every_cause() -> None:
    engine = AutoEngine([FakeEngine("a", fail=True), FakeEngine("b", fail=True)])
    with pytest.raises(TTSError, match=r"all engines failed.*'a'.*'b'"):
        speak(engine, ["một."])


def test_a_single_engine_failure_is_raised_as_is() -> None:
    with pytest.raises(TTSError, match="told to fail"):
        speak(FakeEngine(fail=True), ["một."])


def test_damaged_entry_is_a_miss_and_is_replaced(cache: RenderCache) -> None:
    engine = FakeEngine()
    speak(engine, ["một."], cache=cache)
    key = RenderCache.key("fake", engine.voice_id, "một.")
    cache.path(key).write_bytes(b"RIFF garbage")
    speak(engine, ["một."], cache=cache)
    assert engine.calls == ["một.", "một."]
    assert cache.get(key) is not None


def test_prune_removes_least_recently_used(cache: RenderCache) -> None:
    tone = Sine(300).to_audio_segment(500)
    for index in range(4):
        cache.put(f"{index:02d}" + "0" * 62, tone)
    size = cache.size()
    assert cache.prune(size) == 0
    assert cache.prune(size // 2) == 2
    assert cache.size() <= size // 2


def test_espeak_cache_round_trip_is_lossless(cache: RenderCache, espeak: EspeakEngine) -> None:
    first = speak(espeak, ["xin chào bà con."], cache=cache)
    second = speak(espeak, ["xin chào bà con."], cache=cache)
    assert (first.synthesized, second.synthesized, second.cached) == (1, 0, 1)
    assert first.audio.raw_data == second.audio.raw_data
