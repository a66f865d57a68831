"""`broadcaster normalize` and `broadcaster render` are reachable from the main command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from broadcaster.cli import main


def test_normalize_through_the_main_command() -> None:
    result = CliRunner().invoke(main, ["normalize", "Họp lúc 7h30 ngày 3/11/2026"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "họp lúc bảy giờ ba mươi phút ngày ba tháng mười một năm hai nghìn không trăm hai mươi sáu"
    )


def test_render_uses_the_configured_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'tts_engine = "espeak"\nrender_cache_dir = "{tmp_path / "cache"}"\n')
    out = tmp_path / "out.opus"
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "render", "--text", "Xin chào bà con.", "-o", str(out)],
        env={"BROADCASTER_CONFIG": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"OggS"
    assert list((tmp_path / "cache").glob("*/*.wav"))
