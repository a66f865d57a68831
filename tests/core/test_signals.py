"""A long-running command stops on SIGINT/SIGTERM however many arrive at once
(``broadcaster.signals``): the demo once hung when Ctrl-C and ``timeout``'s SIGTERM came
together, its handler waiting for a lock the interrupted handler held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAITER = """
import sys, time
from broadcaster.signals import StopSignals
with StopSignals() as signals:
    print("ready", flush=True)
    assert signals.wait()
    # a burst of handlers ran while the main thread slept: it still stops, and only once
    print("stopped", signals.received, flush=True)
"""


def test_a_burst_of_signals_stops_the_waiting_process_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WAITER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(20):
            for sig in (signal.SIGTERM, signal.SIGINT):
                proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    word, signum = out.split()
    assert word == "stopped" and int(signum) in (signal.SIGTERM, signal.SIGINT)


def test_wait_returns_false_when_its_timeout_passes_first() -> None:
    from broadcaster.signals import StopSignals

    with StopSignals() as signals:
        started = time.monotonic()
        assert signals.wait(0.3) is False
        assert time.monotonic() - started >= 0.3
        os.kill(os.getpid(), signal.SIGINT)  # handled by StopSignals, not KeyboardInterrupt
        assert signals.wait(5) is True
        assert signals.received == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
