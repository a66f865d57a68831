"""The mastered-result cache: the same render again neither synthesizes nor masters; anything
that changes the output (engine, voice, text, repeat, target, format, the chain) misses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import audio.render
from audio.cache import RenderCache
from audio.loudness import LoudnessTarget
from audio.render import Rendered, render_text
from audio.store import MediaStore
from audio.tts.auto import AutoEngine
from audio.tts.fake import FakeEngine

TEXT = "UBND xã họp lúc 7h30."


@pytest.fixture
def cache(tmp_path: Path) -> RenderCache:
    return RenderCache(tmp_path / "cache")


@pytest.fixture
def masterings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the real master() calls render_text makes (a spy: master still runs)."""
    calls: list[int] = []
    real = audio.render.master

    def spy(*args: Any, **kwargs: Any) -> tuple[bytes, int]:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(audio.render, "master", spy)
    yield calls


def test_the_same_render_again_neither_synthesizes_nor_masters(
    store: MediaStore, cache: RenderCache, masterings: list[int]
) -> None:
    engine = FakeEngine()
    first = render_text(TEXT, engine=engine, store=store, cache=cache, repeat=2)
    assert len(masterings) == 1
    engine.calls.clear()
    again = render_text(TEXT, engine=engine, store=store, cache=cache, repeat=2)
    assert again == first
    assert engine.calls == []
    assert len(masterings) == 1
    assert store.path(again.sha256, again.ext).is_file()


Change = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda kw: kw.update(engine=FakeEngine("other")), id="engine"),
        pytest.param(lambda kw: kw.update(engine=FakeEngine(ms_per_char=30)), id="voice"),
        pytest.param(lambda kw: kw.update(text=TEXT + " Cảm ơn."), id="text"),
        pytest.param(lambda kw: kw.update(lexicon={"UBND": "ủy ban"}), id="normalized-text"),
        pytest.param(lambda kw: kw.update(repeat=3), id="repeat"),
        pytest.param(lambda kw: kw.update(target=LoudnessTarget(integrated=-20.0)), id="target"),
        pytest.param(lambda kw: kw.update(fmt="opus"), id="format"),
        pytest.param(lambda kw: kw.update(bitrate="32k"), id="bitrate"),
        pytest.param(
            lambda kw: setattr(audio.render, "MASTERING_VERSION", -1), id="mastering-version"
        ),
    ],
)
def test_whatever_changes_the_output_misses_the_cache(
    store: MediaStore,
    cache: RenderCache,
    masterings: list[int],
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
) -> None:
    monkeypatch.setattr(audio.render, "MASTERING_VERSION", audio.render.MASTERING_VERSION)
    kwargs: dict[str, Any] = {"text": TEXT, "engine": FakeEngine(ms_per_char=20), "repeat": 2}
    first = render_text(store=store, cache=cache, **kwargs)
    change(kwargs)
    changed = render_text(store=store, cache=cache, **kwargs)
    assert len(masterings) == 2  # mastered again, not taken from the cache
    assert isinstance(changed, Rendered)
    if audio.render.MASTERING_VERSION != -1:  # a new chain version may give the same bytes
        assert changed != first


def test_chime_is_part_of_the_key() -> None:
    keys = {
        RenderCache.mastered_key(engine="espeak", pieces=["a."], chime=True),
        RenderCache.mastered_key(engine="espeak", pieces=["a."], chime=False),
    }
    assert len(keys) == 2


def test_a_result_whose_media_is_gone_is_mastered_again(
    store: MediaStore, cache: RenderCache, masterings: list[int]
) -> None:
    first = render_text(TEXT, engine=FakeEngine(), store=store, cache=cache)
    store.path(first.sha256, first.ext).unlink()
    again = render_text(TEXT, engine=FakeEngine(), store=store, cache=cache)
    assert again == first
    assert len(masterings) == 2
    assert store.exists(again.sha256, again.ext)


@pytest.mark.parametrize("junk", [b"{not json", b"[1, 2]", b'{"sha256": 5}'])
def test_a_damaged_entry_is_dropped_and_mastered_again(
    store: MediaStore, cache: RenderCache, masterings: list[int], junk: bytes
) -> None:
    first = render_text(TEXT, engine=FakeEngine(), store=store, cache=cache)
    (entry,) = (cache.root / "mastered").glob("*/*.json")
    entry.write_bytes(junk)
    again = render_text(TEXT, engine=FakeEngine(), store=store, cache=cache)
    assert again == first
    assert len(masterings) == 2
    assert cache.get_mastered(entry.stem) is not None  # rewritten by the second render


def test_a_fallback_result_is_cached_under_the_engine_that_spoke(
    store: MediaStore, cache: RenderCache, masterings: list[int]
) -> None:
    online, offline = FakeEngine("gtts", fail=True), FakeEngine("espeak")
    first = render_text(TEXT, engine=AutoEngine([online, offline]), store=store, cache=cache)
    assert first.engine == "espeak"
    again = render_text(TEXT, engine=AutoEngine([online, offline]), store=store, cache=cache)
    assert again == first
    assert len(masterings) == 1  # Google was tried again, espeak's mastered result reused
    online.fail = False
    back = render_text(TEXT, engine=AutoEngine([online, offline]), store=store, cache=cache)
    assert back.engine == "gtts"
    assert len(masterings) == 2
    assert render_text(TEXT, engine=AutoEngine([online, offline]), store=store, cache=cache) == back
    assert len(masterings) == 2


def test_prune_counts_mastered_entries(store: MediaStore, cache: RenderCache) -> None:
    render_text(TEXT, engine=FakeEngine(), store=store, cache=cache)
    entries = list(cache.root.glob("*/*.wav")) + list((cache.root / "mastered").glob("*/*.json"))
    assert cache.size() == sum(p.stat().st_size for p in entries)
    assert cache.prune(0) == len(entries)
    assert cache.size() == 0
