"""The normalize and render click commands, run with click's CliRunner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import requests
import responses
from click.testing import CliRunner

from audio.commands import normalize_command, render_command
from broadcaster.config import Settings

GTTS_URL = "https://translate.google.com.vn/_/TranslateWebserverUi/data/batchexecute"
ISSUE_EXAMPLE = "Họp lúc 7h30 ngày 3/11/2026"
SPOKEN = "họp lúc bảy giờ ba mươi phút ngày ba tháng mười một năm hai nghìn không trăm hai mươi sáu"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(mix_stderr=False)


def test_normalize_argument(runner: CliRunner) -> None:
    result = runner.invoke(normalize_command, [ISSUE_EXAMPLE])
    assert result.exit_code == 0, result.output
    assert result.stdout == SPOKEN + "\n"


@pytest.mark.parametrize("args", [[], ["-"]])
def test_normalize_reads_stdin(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(normalize_command, args, input="hỗ trợ 100.000.000 đồng\n")
    assert result.exit_code == 0
    assert result.stdout == "hỗ trợ một trăm triệu đồng\n"


def test_normalize_with_a_lexicon_file(runner: CliRunner, tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("BQLDA: ban quản lý dự án\n", "utf-8")
    result = runner.invoke(normalize_command, ["--lexicon", str(lexicon), "BQLDA xã"])
    assert result.stdout == "ban quản lý dự án xã\n"
    lexicon.write_text("BQLDA: ban 2\n", "utf-8")
    result = runner.invoke(normalize_command, ["--lexicon", str(lexicon), "BQLDA xã"])
    assert result.exit_code == 2
    assert "line 1: BQLDA: digits" in result.stderr


def test_render_text_with_the_fake_engine(
    runner: CliRunner, tmp_path: Path, ebur128: Callable[[bytes], Any]
) -> None:
    out = tmp_path / "out" / "thong-bao.mp3"
    result = runner.invoke(
        render_command, ["--text", "Xin chào bà con.", "-o", str(out), "--engine", "fake"]
    )
    assert result.exit_code == 0, result.output + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["engine"] == "fake"
    assert float(lines["duration"].removesuffix(" s")) > 2.0
    assert float(lines["loudness"].split()[0]) == pytest.approx(-16.0, abs=1.0)
    integrated, _ = ebur128(out.read_bytes())
    assert integrated == pytest.approx(float(lines["loudness"].split()[0]), abs=0.1)
    assert "Synthesizing" not in result.stderr  # a short text: no progress bar


def test_render_file_with_espeak_repeat_opus_and_a_progress_bar(
    runner: CliRunner, tmp_path: Path, ebur128: Callable[[bytes], Any]
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("Một. Hai. Ba. Bốn. Năm.", "utf-8")
    out = tmp_path / "out.opus"
    cache = tmp_path / "cache"
    args = ["-f", str(text), "-o", str(out), "-e", "espeak", "--voice", "south", "-r", "2"]
    result = runner.invoke(render_command, [*args, "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "engine: espeak" in result.stdout
    assert ", opus)" in result.stdout
    assert "Synthesizing" in result.stderr
    integrated, peak = ebur128(out.read_bytes())
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.5
    assert len(list(cache.rglob("*.wav"))) == 6  # five sentences and "xin nhắc lại"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --text and --file"),
        (["--text", "a", "--file", "x"], "exactly one"),
        (["--text", "..."], "nothing to say"),
        (["--text", "Xin chào", "--lufs", "-80"], "loudness target"),
        (["--text", "Xin chào", "--repeat", "9"], "9"),
    ],
)
def test_render_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    if "--file" in args:
        (tmp_path / "x").write_text("x")
        args = [str(tmp_path / "x") if a == "x" else a for a in args]
    result = runner.invoke(render_command, [*args, "-o", str(tmp_path / "o.mp3"), "-e", "fake"])
    assert result.exit_code == 2
    assert message in result.stderr


def test_render_engine_failure_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "o.mp3"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, GTTS_URL, body=requests.ConnectionError("offline"))
        result = runner.invoke(render_command, ["--text", "Xin chào", "-o", str(out), "-e", "gtts"])
    assert result.exit_code == 1
    assert "TTS engine 'gtts' failed: Failed to connect" in result.stderr
    assert not out.exists()


def test_render_piper_without_a_model_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        render_command, ["--text", "Xin chào", "-o", str(tmp_path / "o.mp3"), "-e", "piper"]
    )
    assert result.exit_code == 2
    assert "voice model" in result.stderr


def test_commands_use_the_cli_settings(runner: CliRunner, tmp_path: Path) -> None:
    class Holder:
        settings = Settings(tts_engine="espeak", max_text_chars=10)

    @click.group()
    @click.pass_context
    def main(ctx: click.Context) -> None:
        ctx.obj = Holder()

    main.add_command(render_command)
    main.add_command(normalize_command)
    result = runner.invoke(
        main, ["render", "--text", "Xin chào bà con", "-o", str(tmp_path / "o.mp3")]
    )
    assert result.exit_code == 2
    assert "the limit is 10" in result.stderr
    result = runner.invoke(main, ["normalize", "thứ 4"])
    assert result.stdout == "thứ tư\n"
