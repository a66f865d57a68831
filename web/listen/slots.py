"""At most a few previews render at once across the server's web workers.

A render holds a sync gunicorn worker for seconds (deploy/gunicorn.conf.py); without a bound,
editors pressing "Nghe thử" together could take every worker and stall every other page. Each
slot is a lock file (``flock``), so the bound holds across worker processes and threads, and a
worker that dies releases its slot with its file descriptor.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

PREVIEW_SLOTS = 2  # previews rendering at once; the rest answer "busy" at once


@contextmanager
def preview_slot(root: str | os.PathLike[str], slots: int = PREVIEW_SLOTS) -> Iterator[bool]:
    """Hold a free slot under ``root`` while the block runs; yields False (at once) when all
    ``slots`` are taken."""
    directory = Path(root)
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(slots):
        fd = os.open(directory / f"{n}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    logger.info("preview: all %d slots busy", slots)
    yield False
