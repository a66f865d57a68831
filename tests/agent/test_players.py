from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import pytest

from broadcaster.agent.players import FINISHED, INTERRUPTED, FilePlayer, PlayerError


def test_file_player_writes_wav_and_takes_the_media_duration(
    tmp_path: Path, tone_mp3: Path
) -> None:
    player = FilePlayer(tmp_path / "out")
    began = time.monotonic()
    assert player.play(tone_mp3, threading.Event(), label="occ-1") == FINISHED
    assert time.monotonic() - began >= 0.95
    (wav,) = (tmp_path / "out").glob("*.wav")
    assert wav.name.endswith("_occ-1.wav")
    with wave.open(str(wav)) as w:
        assert 0.9 < w.getnframes() / w.getframerate() < 1.2


def test_file_player_is_interruptible(tmp_path: Path, tone_mp3: Path) -> None:
    stop = threading.Event()
    stop.set()
    assert FilePlayer(tmp_path / "out").play(tone_mp3, stop, label="x") == INTERRUPTED


def test_file_player_raises_on_undecodable_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(PlayerError, match="could not decode"):
        FilePlayer(tmp_path / "out").play(junk, threading.Event(), label="x")
    assert list((tmp_path / "out").iterdir()) == []
