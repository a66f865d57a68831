"""render_text end to end with espeak-ng, ffmpeg and the media store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from audio.loudness import LoudnessTarget
from audio.render import REPEAT_INTRO_TEXT, Rendered, render_text
from audio.store import MediaStore
from audio.tts.espeak import EspeakEngine
from audio.tts.fake import FakeEngine


def test_renders_espeak_speech_into_the_store(
    espeak: EspeakEngine, store: MediaStore, vi_text: str, ffprobe: Callable[[bytes], Any]
) -> None:
    rendered = render_text(vi_text, engine=espeak, store=store)
    assert isinstance(rendered, Rendered)
    assert rendered.engine == "espeak"
    assert rendered.ext == "mp3"
    data = store.path(rendered.sha256, "mp3").read_bytes()
    assert hashlib.sha256(data).hexdigest() == rendered.sha256
    assert rendered.size == len(data)
    assert rendered.duration_ms > 4000
    assert ffprobe(data)["stream"]["codec_name"] == "mp3"


def test_repeat_synthesizes_the_intro_with_the_same_engine(store: MediaStore) -> None:
    engine = FakeEngine()
    once = render_text("Xin chào bà con", engine=engine, store=store)
    twice = render_text("Xin chào bà con", engine=engine, store=store, repeat=2)
    assert engine.calls == ["xin chào bà con", "xin chào bà con", REPEAT_INTRO_TEXT.lower()]
    assert twice.duration_ms > once.duration_ms + 900
    assert twice.engine == "fake"


def test_rendering_twice_stores_one_file(store: MediaStore) -> None:
    first = render_text("Thông báo", engine=FakeEngine(), store=store)
    second = render_text("  Thông báo \n", engine=FakeEngine(), store=store)
    assert first == second


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_rejected(store: MediaStore, text: str) -> None:
    engine = FakeEngine()
    with pytest.raises(ValueError, match="empty"):
        render_text(text, engine=engine, store=store)
    assert engine.calls == []


def test_oversized_text_is_rejected(store: MediaStore) -> None:
    engine = FakeEngine()
    with pytest.raises(ValueError, match="101 characters long; the limit is 100"):
        render_text("a" * 101, engine=engine, store=store, max_chars=100)
    assert engine.calls == []
    assert render_text("a" * 100, engine=engine, store=store, max_chars=100).size > 0


def test_text_is_normalized_before_synthesis(store: MediaStore) -> None:
    engine = FakeEngine()
    render_text("Họp lúc 7h30 ngày 3/11/2026. UBND xã.", engine=engine, store=store)
    assert engine.calls == [
        "họp lúc bảy giờ ba mươi phút ngày ba tháng mười một năm "
        "hai nghìn không trăm hai mươi sáu.",
        "ủy ban nhân dân xã.",
    ]


def test_lexicon_entries_apply_at_render_time(store: MediaStore) -> None:
    engine = FakeEngine()
    render_text("HTX Đắk Hà họp.", engine=engine, store=store, lexicon={"Đắk": "đắc"})
    assert engine.calls == ["hợp tác xã đắc hà họp."]


def test_nothing_speakable_is_rejected(store: MediaStore) -> None:
    engine = FakeEngine()
    with pytest.raises(ValueError, match="nothing to say"):
        render_text("... !!!", engine=engine, store=store)
    assert engine.calls == []


def test_opus_and_a_custom_target(store: MediaStore, ebur128: Callable[[bytes], Any]) -> None:
    target = LoudnessTarget(integrated=-18.0, true_peak=-2.0)
    rendered = render_text(
        "Xin chào bà con.", engine=FakeEngine(), store=store, fmt="opus", target=target
    )
    assert rendered.ext == "opus"
    integrated, peak = ebur128(store.path(rendered.sha256, "opus").read_bytes())
    assert integrated == pytest.approx(-18.0, abs=1.0)
    assert peak <= -2.0


def test_progress_is_reported_per_piece(store: MediaStore) -> None:
    steps: list[int] = []
    render_text("Một. Hai. Ba.", engine=FakeEngine(), store=store, progress=steps.append)
    assert steps == [1, 1, 1]
