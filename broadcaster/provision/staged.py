"""Many files replaced together: everything is written first, then renamed into place.

Bulk provisioning writes thousands of bundle files and the broker's files. Writing each one
atomically is not enough: a failure half-way (a bad row found late, a full disk, a permission)
would leave new passwords in some bundles and old hashes at the broker. Here every new file is
written as a temporary file beside its target (``.<name>.<random>.part``, as
``broadcaster.wire.files`` does); only when all of them are written, one ``sync`` makes them
durable and a run of renames puts them in place. Until then nothing a reader sees has changed;
``discard`` (or leaving the ``with`` block on an exception) removes the temporary files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

from broadcaster.wire.files import PART_SUFFIX


class StagedFiles:
    def __init__(self) -> None:
        self._staged: list[tuple[Path | None, Path]] = []  # (temporary file or None, target)
        self._made_dirs: list[Path] = []

    def __len__(self) -> int:
        return len(self._staged)

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.discard()

    def mkdir(self, path: Path, mode: int = 0o700) -> None:
        """Make ``path`` (removed again by ``discard`` if it is still empty)."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        if missing:
            os.chmod(path, mode)
        self._made_dirs += reversed(missing)  # outermost first; discard goes innermost first

    def add(self, path: Path, data: bytes | str, mode: int, *, gid: int | None = None) -> None:
        """Write ``data`` for ``path`` now (not durable yet), to replace it at ``commit``; the
        temporary file already has ``mode`` and, with ``gid``, its group (``PermissionError``
        if that cannot be given). A file that already holds ``data`` with that mode and group
        is left alone (a re-run rewrites nothing; on ext4, a rename over an existing file
        flushes it, milliseconds each)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if _holds(path, raw, mode, gid):
            return
        if not path.parent.exists():
            self.mkdir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PART_SUFFIX, dir=path.parent)
        self._staged.append((Path(tmp), path))
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, mode)
        if gid is not None:
            os.chown(tmp, -1, gid)

    def remove(self, path: Path) -> None:
        """Remove ``path`` at commit (nothing is removed before)."""
        self._staged.append((None, path))

    def commit(self) -> None:
        """Make every staged file durable (one sync), then rename each into place."""
        os.sync()
        for tmp, target in self._staged:
            if tmp is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(tmp, target)
        self._staged.clear()
        self._made_dirs.clear()

    def discard(self) -> None:
        for tmp, _ in self._staged:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        self._staged.clear()
        for d in reversed(self._made_dirs):
            try:
                d.rmdir()
            except OSError:
                pass  # not empty: someone else's files are there
        self._made_dirs.clear()


def _holds(path: Path, data: bytes, mode: int, gid: int | None) -> bool:
    try:
        info = path.stat()
        if info.st_mode & 0o7777 != mode or (gid is not None and info.st_gid != gid):
            return False
        return info.st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False
