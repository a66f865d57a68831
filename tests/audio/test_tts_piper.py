"""PiperEngine: a stand-in executable for the contract; the real piper only when installed."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from audio.tts.base import TTSEngine, TTSError
from audio.tts.piper import PiperEngine

# A one-second 16 kHz silent-ish WAV made by the stand-in with python's wave module.
STAND_IN = """#!{python}
import sys, wave, struct, math
args = sys.argv[1:]
open({log!r} + ".argv", "w").write(" ".join(args))
text = sys.stdin.read()
open({log!r} + ".stdin", "w").write(text)
out = args[args.index("-f") + 1]
with wave.open(out, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    n = 160 * len(text)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(n)))
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "vi_VN-test-medium.onnx"
    path.write_bytes(b"not a real model")
    return path


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[str, Path]:
    log = tmp_path / "log"
    exe = tmp_path / "piper"
    exe.write_text(
        STAND_IN.format(python=shutil.which("python3") or "/usr/bin/python3", log=str(log))
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe), log


def test_text_goes_on_stdin_with_the_model(stand_in: tuple[str, Path], model: Path) -> None:
    exe, log = stand_in
    engine = PiperEngine(model, executable=exe, speaker=3)
    speech = engine.synthesize("Xin chào\nbà con -v x")
    assert isinstance(engine, TTSEngine)
    assert speech.engine == "piper"
    assert len(speech.audio) > 100
    assert Path(f"{log}.stdin").read_text() == "Xin chào bà con -v x\n"
    argv = Path(f"{log}.argv").read_text().split()
    assert argv[:2] == ["-m", str(model)]
    assert argv[-2:] == ["--speaker", "3"]
    assert "chào" not in " ".join(argv)


def test_available_needs_both_model_and_executable(
    stand_in: tuple[str, Path], model: Path, tmp_path: Path
) -> None:
    exe, _ = stand_in
    assert PiperEngine.available(model, exe)
    assert not PiperEngine.available(None, exe)
    assert not PiperEngine.available("", exe)
    assert not PiperEngine.available(tmp_path / "missing.onnx", exe)
    assert not PiperEngine.available(model, "piper-not-installed-here")


def test_missing_model_is_a_clear_error(stand_in: tuple[str, Path], tmp_path: Path) -> None:
    exe, _ = stand_in
    with pytest.raises(TTSError, match="'piper'.*voice model .* does not exist"):
        PiperEngine(tmp_path / "gone.onnx", executable=exe).synthesize("Xin chào")


def test_missing_executable_is_a_clear_error(model: Path) -> None:
    with pytest.raises(TTSError, match="'piper'.*not installed"):
        PiperEngine(model, executable="piper-not-installed-here").synthesize("Xin chào")


def test_failure_reports_exit_code(tmp_path: Path, model: Path) -> None:
    exe = tmp_path / "bad-piper"
    exe.write_text("#!/bin/sh\necho 'Failed to load voice' >&2\nexit 2\n")
    exe.chmod(0o755)
    with pytest.raises(TTSError, match="exited with 2: Failed to load voice"):
        PiperEngine(model, executable=str(exe)).synthesize("Xin chào")


def test_voice_id_changes_with_the_model_file(model: Path) -> None:
    engine = PiperEngine(model)
    before = engine.voice_id
    model.write_bytes(b"a different model, longer")
    assert engine.voice_id != before
    assert before.startswith("vi_VN-test-medium.onnx:")


REAL_MODEL = os.environ.get("BROADCASTER_TEST_PIPER_MODEL", "")


@pytest.mark.skipif(
    not PiperEngine.available(REAL_MODEL),
    reason="piper is not installed or BROADCASTER_TEST_PIPER_MODEL names no voice model file "
    "(install piper and a Vietnamese .onnx voice to run this; nothing is downloaded)",
)
def test_real_piper_speaks_vietnamese() -> None:
    speech = PiperEngine(REAL_MODEL).synthesize("Xin chào bà con.")
    assert speech.audio.duration_seconds > 0.5
    assert speech.audio.dBFS > -50
