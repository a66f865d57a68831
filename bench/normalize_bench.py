"""The normalizer's score on the shared NeMo cases, and its throughput against bare text passes.

Run from the repository root:  .venv/bin/python -m bench.normalize_bench [--rounds N]

1. The scorer (`../shared/normalize/score.py`, run with this interpreter and this checkout's
   code first on PYTHONPATH) prints strict and lenient scores per category.
2. Throughput in characters per second of written text, over one corpus: the six sample
   announcements and every input of the scorer's cases, joined into one text. Measured on the
   whole text at once (how a render calls it) and case by case (many short calls). The bare
   parts run in the same process over the same text: `str.lower()`; one plain regex pass
   (every run of digits replaced by a word), the floor any regex-based normalizer stands on;
   and every rule's pattern scanned once without replacing anything (what the regex engine
   alone costs us, before the reading functions and the lexicon).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SCORER = SHARED / "normalize" / "score.py"
CASES = SHARED / "normalize" / "nemo_vi_cases.tsv"
SAMPLES = SHARED / "samples" / "announcements.yaml"


def run_scorer(scorer: Path) -> str:
    """The scorer's output, run on this checkout's code."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(scorer), "--python", sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout


def corpus() -> tuple[str, list[str]]:
    """The whole text, and its pieces (sample bodies and case inputs)."""
    pieces = [s["body"] for s in yaml.safe_load(SAMPLES.read_text("utf-8"))]
    for line in CASES.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pieces.append(line.split("\t")[1])
    return "\n".join(pieces), pieces


def chars_per_second(fn: Callable[[], object], chars: int, rounds: int) -> float:
    """Best of `rounds` timings of fn, as characters per second."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return chars / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timings per figure (best kept)")
    parser.add_argument("--scorer", type=Path, default=SCORER)
    args = parser.parse_args()

    print(f"Command: .venv/bin/python -m bench.normalize_bench --rounds {args.rounds}")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print()
    print(run_scorer(args.scorer).rstrip())
    print()

    started = time.perf_counter()
    from audio.normalize import normalize_text  # the import compiles the rules
    from audio.normalize.patterns import RULES

    normalize_text("lúc 7h30 ngày 3/11/2026")  # and the first call builds the lexicon
    cold_ms = (time.perf_counter() - started) * 1000

    text, pieces = corpus()
    digits = re.compile(r"\d+")
    rows = [
        ("normalize_text, whole text", lambda: normalize_text(text)),
        ("normalize_text, case by case", lambda: [normalize_text(p) for p in pieces]),
        ("bare: str.lower()", lambda: text.lower()),
        ("bare: one regex pass (digits → a word)", lambda: digits.sub("số", text)),
        (
            f"bare: the {len(RULES)} rules' patterns scanned, nothing replaced",
            lambda: [sum(1 for _ in pattern.finditer(text)) for pattern, _ in RULES],
        ),
    ]
    print(
        f"Corpus: {len(pieces)} pieces, {len(text)} characters. "
        f"Import + first call: {cold_ms:.0f} ms."
    )
    print()
    print("| what | characters/s | ÷ normalize_text (whole text) |")
    print("| --- | ---: | ---: |")
    ours = 0.0
    for name, fn in rows:
        rate = chars_per_second(fn, len(text), args.rounds)
        ours = ours or rate
        print(f"| {name} | {rate:,.0f} | {rate / ours:,.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
