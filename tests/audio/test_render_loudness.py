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


CASES = [(s, 2 if n == 0 else 1, "mp3") for n, s in enumerate(_samples())]
CASES.append((_samples()[1], 2, "opus"))


@pytest.mark.parametrize(
    ("sample", "repeat", "fmt"), CASES, ids=[f"{s['id']}-{fmt}" for s, _, fmt in CASES]
)
def test_each_sample_meets_the_loudness_target(
    sample: dict[str, Any],
    repeat: int,
    fmt: str,
    espeak: EspeakEngine,
    store: MediaStore,
    tmp_path: Path,
    ebur128: Loudness,
) -> None:
    cache = RenderCache(tmp_path / "cache")
    kwargs: dict[str, Any] = {"store": store, "cache": cache, "repeat": repeat, "fmt": fmt}
    rendered = render_text(sample["body"], engine=espeak, **kwargs)
    assert rendered.ext == fmt
    integrated, true_peak = ebur128(store.path(rendered.sha256, rendered.ext).read_bytes())
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.5
    assert render_text(sample["body"], engine=espeak, **kwargs) == rendered
