"""Render time of a 300-word announcement per engine, cold and cached, against the bare tools.

Run from the repository root:  .venv/bin/python -m bench.render_bench [--no-write]

For each engine: render_text (normalize, synthesize sentence by sentence, master with two-pass
loudnorm, encode MP3, store) with an empty render cache ("cold") and again with the cache
filled ("cached"), as a real-time factor (render seconds / programme seconds; < 1 is faster
than real time). The bare part is measured in the same run: one `espeak-ng` call on the whole
normalized text to WAV, plus one `ffmpeg` MP3 encode of audio as long as our programme. Our
figure is printed as a ratio to it. gTTS needs the internet, which the bench does not use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from pydub import AudioSegment  # noqa: E402

from audio.cache import RenderCache  # noqa: E402
from audio.normalize import normalize_text  # noqa: E402
from audio.render import render_text  # noqa: E402
from audio.store import MediaStore  # noqa: E402
from audio.tts.espeak import EspeakEngine  # noqa: E402
from audio.tts.fake import FakeEngine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path("/work/shared/samples/announcements.yaml")
RESULTS = ROOT / "bench" / "RESULTS.md"
WORDS = 300
COMMAND = ".venv/bin/python -m bench.render_bench"


def announcement(words: int = WORDS) -> str:
    """About `words` words of Vietnamese announcement text, cut at a sentence end."""
    bodies = [s["body"] for s in yaml.safe_load(SAMPLES.read_text("utf-8"))]
    text = " ".join(bodies)
    while len(text.split()) < words:
        text += " " + text
    out: list[str] = []
    for sentence in text.replace("! ", "!\n").replace(". ", ".\n").splitlines():
        out.append(sentence)
        if len(" ".join(out).split()) >= words:
            break
    return " ".join(out)


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bare(text: str, programme_ms: int) -> tuple[float, float]:
    """Seconds for raw espeak-ng on the whole text, and for a raw ffmpeg MP3 encode."""
    spoken = normalize_text(text)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        _, espeak_s = timed(
            subprocess.run,
            ["espeak-ng", "-v", "vi", "-s", "150", "-w", str(wav), "--stdin"],
            input=spoken.encode(),
            check=True,
        )
        speech = AudioSegment.from_wav(io.BytesIO(wav.read_bytes()))
        padded = speech + AudioSegment.silent(max(0, programme_ms - len(speech)))
        src = Path(tmp) / "programme.wav"
        padded.set_channels(1).set_frame_rate(44100).export(src, format="wav")
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-ac", "1", "-c:a", "libmp3lame"]
        _, ffmpeg_s = timed(
            subprocess.run, [*cmd, "-b:a", "64k", str(Path(tmp) / "out.mp3")], check=True
        )
    return espeak_s, ffmpeg_s


def run() -> tuple[list[str], str]:
    text = announcement()
    lines = [
        f"- text: {len(text.split())} words, {len(text)} characters "
        f"({len(normalize_text(text))} once normalized), repeat=1, MP3 64 kbps",
    ]
    rows = ["| engine | programme | cold | cold RTF | cached | cached RTF | cold / bare |",
            "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    bare_total = None
    for engine in (EspeakEngine(), FakeEngine()):
        with tempfile.TemporaryDirectory() as tmp:
            store, cache = MediaStore(Path(tmp) / "media"), RenderCache(Path(tmp) / "cache")
            cold, cold_s = timed(render_text, text, engine=engine, store=store, cache=cache)
            cached, cached_s = timed(render_text, text, engine=engine, store=store, cache=cache)
            assert cold == cached
        seconds = cold.duration_ms / 1000
        ratio = "–"
        if engine.name == "espeak":
            espeak_s, ffmpeg_s = bare(text, cold.duration_ms)
            bare_total = espeak_s + ffmpeg_s
            ratio = f"{cold_s / bare_total:.1f}×"
            lines.append(
                f"- bare espeak-ng (whole text → WAV): {espeak_s:.2f} s; bare ffmpeg MP3 encode "
                f"of {seconds:.0f} s: {ffmpeg_s:.2f} s; together {bare_total:.2f} s "
                f"(RTF {bare_total / seconds:.3f})"
            )
        rows.append(
            f"| {engine.name} | {seconds:.1f} s | {cold_s:.2f} s | {cold_s / seconds:.3f} | "
            f"{cached_s:.2f} s | {cached_s / seconds:.3f} | {ratio} |"
        )
    lines.append("- gtts: skipped (needs the internet; this machine is offline)")
    return lines, "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only, do not append")
    args = parser.parse_args()
    lines, table = run()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    section = "\n".join(
        [
            f"## Render time, 300-word announcement ({dt.date.today().isoformat()})",
            "",
            f"Command: `{COMMAND}` · {machine} · {ffmpeg.splitlines()[0]}",
            "",
            *lines,
            "",
            table,
            "",
        ]
    )
    print(section)
    if not args.no_write:
        header = "" if RESULTS.exists() else "# Benchmark results\n\nNewest sections last.\n\n"
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(header + section + "\n")


if __name__ == "__main__":
    main()
