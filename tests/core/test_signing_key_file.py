"""The server's signing key file is created once, whole, even when several processes (gunicorn
workers) start at the same moment: every one of them gets the same key, and none reads a
half-written PEM (a 500 in a three-worker test before the file was written atomically)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from broadcaster.keys import load_or_create_signer


def _load(path: Path, out: mp.Queue[str]) -> None:
    out.put(load_or_create_signer(path).public_b64)


def test_processes_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    for round_ in range(5):
        path = tmp_path / str(round_) / "signing-key.pem"
        out: mp.Queue[str] = mp.get_context("fork").Queue()
        procs = [mp.get_context("fork").Process(target=_load, args=(path, out)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        assert len({out.get(timeout=5) for _ in procs}) == 1
        assert path.stat().st_mode & 0o777 == 0o600
        assert [f.name for f in path.parent.iterdir()] == ["signing-key.pem"]  # no temporary left
