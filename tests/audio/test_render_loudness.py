"""Every shared sample announcement, rendered end to end with espeak-ng, meets the loudness
target as ffmpeg measures the stored file (not as the code believes), and a second render of
it is the same file from the mastered-result cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from audio.cache import RenderCache
from audio.render import render_text
from audio.store import MediaStore
from audio.tts.espeak import EspeakEngine

SAMPLES = Path("/work/shared/samples/announcements.yaml")
Loudness = Callable[[bytes], tuple[float, float]]


def _samples() -> list[dict[str, Any]]:
    return yaml.safe_load(SAMPLES.read_text("utf-8"))


@pytest.mark.parametrize(
    ("sample", "repeat"),
    [(s, 2 if n == 0 else 1) for n, s in enumerate(_samples())],
    ids=[s["id"] for s in _samples()],
)
def test_each_sample_meets_the_loudness_target(
    sample: dict[str, Any],
    repeat: int,
    espeak: EspeakEngine,
    store: MediaStore,
    tmp_path: Path,
    ebur128: Loudness,
) -> None:
    cache = RenderCache(tmp_path / "cache")
    rendered = render_text(sample["body"], engine=espeak, store=store, cache=cache, repeat=repeat)
    integrated, true_peak = ebur128(store.path(rendered.sha256, rendered.ext).read_bytes())
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.5
    assert (
        render_text(sample["body"], engine=espeak, store=store, cache=cache, repeat=repeat)
        == rendered
    )
