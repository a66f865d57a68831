"""EspeakEngine on the real espeak-ng, and its failure modes on stand-in executables."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from audio.tts.base import TTSEngine, TTSError
from audio.tts.espeak import VOICES, EspeakEngine


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-espeak"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_vietnamese_text_gives_audible_speech(espeak: EspeakEngine, vi_text: str) -> None:
    speech = espeak.synthesize(vi_text)
    assert speech.engine == "espeak"
    assert speech.audio.duration_seconds > 1.0
    assert speech.audio.dBFS > -50
    assert isinstance(espeak, TTSEngine)


def test_longer_text_speaks_longer(espeak: EspeakEngine, vi_text: str) -> None:
    short = espeak.synthesize("Xin chào.")
    long = espeak.synthesize(vi_text)
    assert len(long.audio) > 2 * len(short.audio)


def test_text_goes_on_stdin_not_argv(tmp_path: Path) -> None:
    log = tmp_path / "log"
    wav = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAIlYAAESsAAACABAAZGF0YQAAAAA="  # empty 22 kHz WAV
    exe = _script(
        tmp_path,
        f'echo "$@" > {log}.argv\ncat > {log}.stdin\n'
        f'while [ "$1" != "-w" ]; do shift; done\necho {wav} | base64 -d > "$2"\n',
    )
    with pytest.raises(TTSError, match="no audio"):
        EspeakEngine(executable=exe).synthesize("-v en; rm -rf /")
    assert (tmp_path / "log.stdin").read_text() == "-v en; rm -rf /"
    argv = (tmp_path / "log.argv").read_text()
    assert "rm -rf" not in argv
    assert argv.split()[:4] == ["-v", "vi", "-s", "150"]
    assert argv.split()[-1] == "--stdin"


def test_missing_executable_is_a_clear_error() -> None:
    with pytest.raises(TTSError, match="'espeak'.*not installed"):
        EspeakEngine(executable="espeak-ng-not-here").synthesize("Xin chào")


def test_failing_executable_reports_exit_code_and_stderr(tmp_path: Path) -> None:
    exe = _script(tmp_path, "echo 'no voice vi' >&2\nexit 3\n")
    with pytest.raises(TTSError, match="exited with 3: no voice vi"):
        EspeakEngine(executable=exe).synthesize("Xin chào")


def test_hanging_executable_times_out(tmp_path: Path) -> None:
    exe = _script(tmp_path, "exec sleep 10\n")
    with pytest.raises(TTSError, match="timed out"):
        EspeakEngine(executable=exe, timeout=0.3).synthesize("Xin chào")


def test_blank_text_is_a_caller_error(espeak: EspeakEngine) -> None:
    with pytest.raises(ValueError, match="blank"):
        espeak.synthesize("  \n")


def test_bad_speed_is_rejected() -> None:
    with pytest.raises(ValueError, match="speed"):
        EspeakEngine(speed=5)


@pytest.mark.parametrize(
    ("voice", "name"),
    [
        ("north", "vi"),
        ("central", "vi-vn-x-central"),
        ("south", "vi-vn-x-south"),
        ("vi", "vi"),
        ("vi-vn-x-south", "vi-vn-x-south"),
    ],
)
def test_regional_voices_are_selectable(voice: str, name: str) -> None:
    engine = EspeakEngine(voice=voice)
    assert engine.voice == name
    assert engine.voice_id == f"{name}@150"


@pytest.mark.parametrize("voice", ["central", "south"])
def test_regional_voices_speak(voice: str) -> None:
    north = EspeakEngine().synthesize("Bà con chú ý.").audio
    other = EspeakEngine(voice=voice).synthesize("Bà con chú ý.").audio
    assert other.duration_seconds > 0.5
    assert other.raw_data != north.raw_data


def test_voices_are_installed_in_espeak_ng() -> None:
    out = subprocess.run(["espeak-ng", "--voices=vi"], capture_output=True, text=True, check=True)
    listed = {line.split()[1] for line in out.stdout.splitlines()[1:]}
    assert set(VOICES.values()) <= listed


def test_unknown_voice_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown espeak voice 'en'.*south"):
        EspeakEngine(voice="en")
