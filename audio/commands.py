"""`broadcaster normalize` and `broadcaster render`: click commands for broadcaster.cli to add."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from audio.cache import RenderCache
from audio.lexicon_file import read_lexicon_file
from audio.loudness import LoudnessTarget, measure_encoded
from audio.normalize import normalize_text
from audio.normalize.lexicon import LexiconError
from audio.render import render_text, spoken_pieces
from audio.store import MediaStore
from audio.tts.base import TTSError
from audio.tts.fake import FakeEngine
from audio.tts.registry import ENGINES, make_engine
from broadcaster.config import TTS_VOICES, Settings

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

# The configurable engines, and a tone for trying the pipeline without a voice.
ENGINE_CHOICES = (*ENGINES, "fake")
PROGRESS_FROM_PIECES = 4  # a progress bar for texts of this many sentences or more


def _settings(ctx: click.Context) -> Settings:
    """The CLI's settings when run under `broadcaster`, defaults when run alone."""
    holder: Any = ctx.find_root().obj
    settings = getattr(holder, "settings", None)
    return settings if isinstance(settings, Settings) else Settings()


def _lexicon(path: Path | None) -> dict[str, str] | None:
    """Extra entries from a YAML or CSV file, read like the web's lexicon import."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--lexicon") from exc
    read = read_lexicon_file(data)
    if read.errors:
        problems = "; ".join(
            f"line {e.line}: {e.term + ': ' if e.term else ''}{e.detail or e.code}"
            for e in read.errors[:5]
        )
        raise click.BadParameter(f"{path}: {problems}", param_hint="--lexicon")
    return read.entries


lexicon_option = click.option(
    "--lexicon",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML file of extra abbreviations (TERM: spoken form).",
)


@click.command("normalize")
@click.argument("text", required=False)
@lexicon_option
def normalize_command(text: str | None, lexicon: Path | None) -> None:
    """Print the spoken form of TEXT (read from stdin when TEXT is absent or -)."""
    if text is None or text == "-":
        text = click.get_text_stream("stdin").read()
    try:
        click.echo(normalize_text(text, _lexicon(lexicon)))
    except LexiconError as exc:
        raise click.BadParameter(str(exc), param_hint="--lexicon") from exc


def _engine(settings: Settings, name: str | None, voice: str | None) -> Any:
    if name == "fake":
        return FakeEngine()
    changes: dict[str, Any] = {}
    if name:
        changes["tts_engine"] = name
    if voice:
        changes["tts_voice"] = voice
    return make_engine(settings.replace(**changes))


@click.command("render")
@click.option("--text", "-t", help="The announcement text.")
@click.option(
    "--file",
    "-f",
    "text_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A UTF-8 file with the announcement text.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the mastered audio (.mp3, or .opus/.ogg for Opus).",
)
@click.option(
    "--engine", "-e", type=click.Choice(ENGINE_CHOICES), help="TTS engine (default: config)."
)
@click.option("--voice", type=click.Choice(TTS_VOICES), help="espeak-ng voice.")
@click.option("--repeat", "-r", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--lufs", type=float, default=-16.0, show_default=True, help="Loudness target.")
@click.option("--true-peak", type=float, default=-1.5, show_default=True, help="dBTP ceiling.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Render cache folder (unchanged sentences are not synthesized again).",
)
@lexicon_option
@click.pass_context
def render_command(
    ctx: click.Context,
    text: str | None,
    text_file: Path | None,
    output: Path,
    engine: str | None,
    voice: str | None,
    repeat: int,
    lufs: float,
    true_peak: float,
    cache_dir: Path | None,
    lexicon: Path | None,
) -> None:
    """Render an announcement to a mastered audio file; print engine, duration and loudness."""
    if (text is None) == (text_file is None):
        raise click.UsageError("give exactly one of --text and --file")
    body = text if text is not None else text_file.read_text("utf-8")  # type: ignore[union-attr]
    settings = _settings(ctx)
    fmt = "opus" if output.suffix.lower() in (".opus", ".ogg") else "mp3"
    try:
        target = LoudnessTarget(integrated=lufs, true_peak=true_peak)
        extra = _lexicon(lexicon)
        pieces = len(spoken_pieces(body, extra))
        tts = _engine(settings, engine, voice)
    except (ValueError, LexiconError) as exc:
        raise click.UsageError(str(exc)) from exc
    cache_root = cache_dir or getattr(settings, "render_cache_dir", None)
    cache = RenderCache(cache_root) if cache_root else None
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        store = MediaStore(tmp)
        options: dict[str, Any] = {
            "engine": tts,
            "store": store,
            "repeat": repeat,
            "max_chars": settings.max_text_chars,
            "lexicon": extra,
            "cache": cache,
            "target": target,
            "fmt": fmt,
        }
        try:
            if pieces >= PROGRESS_FROM_PIECES:
                bar: ProgressBar[int]
                with click.progressbar(
                    length=pieces, label="Synthesizing", file=click.get_text_stream("stderr")
                ) as bar:
                    rendered = render_text(body, progress=bar.update, **options)
            else:
                rendered = render_text(body, **options)
        except TTSError as exc:
            raise click.ClickException(str(exc)) from exc
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        source = store.path(rendered.sha256, rendered.ext)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, output)
    measured = measure_encoded(output.read_bytes())
    click.echo(f"engine: {rendered.engine}")
    click.echo(f"duration: {rendered.duration_ms / 1000:.2f} s")
    click.echo(f"loudness: {measured.integrated:.1f} LUFS integrated")
    click.echo(f"true peak: {measured.true_peak:.1f} dBTP")
    click.echo(f"sha256: {rendered.sha256}")
    click.echo(f"written: {output} ({rendered.size} bytes, {fmt})")


__all__ = ["normalize_command", "render_command"]
