"""Atomic file writes: a temporary file in the target's folder, then one rename.

Readers (the media endpoint, a player, a process restarting after a crash) see the old file or the
new one, never part of one. The server (keys, provisioning, the media store and render cache) and
the agent (downloaded media) share it, so it lives here, beside the protocol the agent may import,
and uses the standard library only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"  # the temporary file: ".<name>.<random>.part" next to the target


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str], mode: int = 0o644, *, durable: bool = True
) -> Iterator[BinaryIO]:
    """Write ``path`` through the yielded binary file; it replaces ``path`` with permissions
    ``mode`` only when the block ends without an exception (then the temporary file is removed).

    ``durable`` syncs the data to disk before the rename, so a power cut cannot leave an empty
    file under the new name; a cache that can be rebuilt may skip it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str, mode: int = 0o644, *, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) atomically; see atomic_writer."""
    with atomic_writer(path, mode, durable=durable) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def create_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` holding ``data``, complete or not at all, only if it does not exist:
    ``FileExistsError`` when another process created it first (its file is kept)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, target)  # atomic, and refuses an existing name
    finally:
        Path(tmp).unlink(missing_ok=True)
