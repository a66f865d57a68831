"""Render time of a 300-word announcement per engine: cold, mastering only, and repeated, against
the bare tools measured in the same run.

Run from the repository root:  .venv/bin/python -m bench.render_bench [--no-write]

For each engine: render_text (normalize, synthesize sentence by sentence, master: ebur128
measurement, gain/limiter and MP3 encode in one ffmpeg, check of the encoded loudness; store)
with empty caches ("cold"); again after dropping only the mastered-result cache ("pieces
cached": synthesis skipped, mastering done); and again with both caches ("repeated": the
mastered-result cache answers). Times are real-time factors (render seconds / programme
seconds). The bare parts are measured in the same run: one `espeak-ng` call on the whole
normalized text to WAV, and one `ffmpeg` MP3 encode of our programme (decoded to WAV first,
untimed). The repeated render is also timed for a text at the 5,000-character limit. gTTS needs
the internet, which the bench does not use.

Targets (issue 15): cold RTF <= 0.04 for espeak-ng (25x real time), repeated < 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from audio.cache import MASTERED, RenderCache  # noqa: E402
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


CPU: dict[str, float] = {}  # CPU seconds (this process and its children) of the last timed()


def _cpu() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, wall seconds); the CPU seconds it took, children included, in CPU["last"]."""
    cpu = _cpu()
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    wall = time.perf_counter() - started
    CPU["last"] = _cpu() - cpu
    return result, wall


def bare_espeak(text: str) -> float:
    """Seconds for raw espeak-ng on the whole normalized text, to a WAV."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = ["espeak-ng", "-v", "vi", "-s", "150", "-w", str(wav), "--stdin"]
        _, seconds = timed(subprocess.run, cmd, input=normalize_text(text).encode(), check=True)
    CPU["espeak"] = CPU["last"]
    return seconds


def bare_encode(mp3: Path) -> float:
    """Seconds for one raw ffmpeg MP3 64 kbps encode of the same programme (from WAV)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "programme.wav"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), str(src)], check=True)
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-ac", "1", "-c:a", "libmp3lame"]
        _, seconds = timed(
            subprocess.run, [*cmd, "-b:a", "64k", str(Path(tmp) / "out.mp3")], check=True
        )
    CPU["encode"] = CPU["last"]
    return seconds


def render_three_ways(text: str, engine: Any, root: Path) -> tuple[Any, float, float, float]:
    """(rendered, cold s, pieces-cached s, repeated s) with fresh caches under root."""
    store, cache = MediaStore(root / "media"), RenderCache(root / "cache")
    cold, cold_s = timed(render_text, text, engine=engine, store=store, cache=cache)
    CPU["cold"] = CPU["last"]
    shutil.rmtree(root / "cache" / MASTERED)
    pieces, pieces_s = timed(render_text, text, engine=engine, store=store, cache=cache)
    repeated, repeated_s = timed(render_text, text, engine=engine, store=store, cache=cache)
    assert cold == pieces == repeated
    return cold, cold_s, pieces_s, repeated_s


def run() -> tuple[list[str], str]:
    text = announcement()
    lines = [
        f"- text: {len(text.split())} words, {len(text)} characters "
        f"({len(normalize_text(text))} once normalized), repeat=1, MP3 64 kbps",
    ]
    rows = ["| engine | programme | cold | cold RTF | pieces cached | repeated | cold / bare |",
            "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for engine in (EspeakEngine(), FakeEngine()):
        with tempfile.TemporaryDirectory() as tmp:
            cold, cold_s, pieces_s, repeated_s = render_three_ways(text, engine, Path(tmp))
            seconds = cold.duration_ms / 1000
            ratio = "–"
            if engine.name == "espeak":
                espeak_s = bare_espeak(text)
                mp3 = Path(tmp) / "media" / cold.sha256[:2] / f"{cold.sha256}.mp3"
                encode_s = bare_encode(mp3)
                bare_total = espeak_s + encode_s
                ratio = f"{cold_s / bare_total:.1f}×"
                bare_cpu = CPU["espeak"] + CPU["encode"]
                lines.append(
                    f"- bare espeak-ng (whole text → WAV): {espeak_s:.2f} s; bare ffmpeg MP3 "
                    f"encode of the same {seconds:.0f} s programme: {encode_s:.2f} s; together "
                    f"{bare_total:.2f} s (RTF {bare_total / seconds:.3f}); CPU time "
                    f"{bare_cpu:.2f} s (RTF {bare_cpu / seconds:.3f})"
                )
                lines.append(
                    f"- espeak cold render CPU time (ours + ffmpeg/espeak-ng children): "
                    f"{CPU['cold']:.2f} s (RTF **{CPU['cold'] / seconds:.3f}**, "
                    f"{CPU['cold'] / bare_cpu:.1f}× the bare parts' CPU); wall time depends on "
                    "what else runs (see the load average)"
                )
        rows.append(
            f"| {engine.name} | {seconds:.1f} s | {cold_s:.2f} s | **{cold_s / seconds:.3f}** | "
            f"{pieces_s:.2f} s | **{repeated_s * 1000:.1f} ms** | {ratio} |"
        )
    long_text = announcement(2000)[:5000].rsplit(".", 1)[0] + "."
    with tempfile.TemporaryDirectory() as tmp:
        store, cache = MediaStore(Path(tmp) / "media"), RenderCache(Path(tmp) / "cache")
        long, long_cold_s = timed(
            render_text, long_text, engine=EspeakEngine(), store=store, cache=cache
        )
        _, long_repeated_s = timed(
            render_text, long_text, engine=EspeakEngine(), store=store, cache=cache
        )
        _, normalize_s = timed(normalize_text, long_text)
    lines.append(
        f"- {len(long_text)}-character text (the limit is 5,000), espeak: "
        f"{long.duration_ms / 1000:.0f} s programme, cold {long_cold_s:.2f} s "
        f"(RTF {long_cold_s / long.duration_ms * 1000:.3f}), repeated "
        f"**{long_repeated_s * 1000:.1f} ms** (of which normalizing the text "
        f"{normalize_s * 1000:.1f} ms)"
    )
    lines.append("- gtts: skipped (needs the internet; this machine is offline)")
    lines.append(
        f"- load average at the end: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs"
    )
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
            f"## Render time after issue 15, 300-word announcement ({dt.date.today().isoformat()})",
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
