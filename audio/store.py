"""Content-addressed media store: files named by their SHA-256, written atomically.

A file's modification time is its last use: ``put`` of bytes already stored and ``touch`` (a
mastered-cache hit) set it to now, so the media clean-up (``audio.media_prune``) counts its
grace period from the last render, not from the first. ``remove_unused`` removes a file only if
it is still unused once out of the way, so a render that touches it at the same moment wins.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from broadcaster.wire.files import PART_SUFFIX, write_atomic

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = re.compile(r"[a-z0-9]{1,10}")
_NAME = re.compile(r"(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,10})")
# A file set aside by remove_unused: ".<sha256>.<ext>.pruning" beside it.
PRUNING_SUFFIX = ".pruning"


@dataclass(frozen=True)
class StoredFile:
    """One file of the store: its name's parts, size and last use (its mtime, UTC)."""

    sha256: str
    ext: str
    path: Path
    size: int
    used_at: datetime

    @property
    def name(self) -> str:
        return f"{self.sha256}.{self.ext}"


class MediaStore:
    """Immutable media under root/<first two hex digits>/<sha256>.<ext>."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, sha256: str, ext: str) -> Path:
        """Where a file lives; ValueError unless sha256 is 64 lowercase hex digits and ext simple."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        if not isinstance(ext, str) or not _EXT.fullmatch(ext):
            raise ValueError(f"not a valid media extension: {ext!r}")
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def exists(self, sha256: str, ext: str) -> bool:
        """True when the file is stored."""
        return self.path(sha256, ext).is_file()

    def stored(self, sha256: str, ext: str) -> StoredFile | None:
        """The file's size and last use (its mtime), None when it is not stored."""
        path = self.path(sha256, ext)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return StoredFile(sha256, ext, path, st.st_size, _mtime(st.st_mtime))

    def touch(self, sha256: str, ext: str) -> bool:
        """Mark the file used now; False when it is not stored (or is being removed)."""
        path = self.path(sha256, ext)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        except PermissionError:  # not ours to touch (restored by another user): still there
            logger.warning("cannot mark %s used (permission denied)", path.name)
            return path.is_file()
        return True

    def put(self, data: bytes, ext: str) -> str:
        """Store data (once; again only marks it used) and return its SHA-256 hex digest."""
        sha256 = hashlib.sha256(data).hexdigest()
        if self.touch(sha256, ext):
            return sha256
        write_atomic(self.path(sha256, ext), data, 0o644)  # world-readable: a proxy may serve it
        logger.info("stored %s.%s (%d bytes)", sha256, ext, len(data))
        return sha256

    def files(self) -> Iterator[StoredFile]:
        """Every stored file (names the store would give; anything else is left alone)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not re.fullmatch(r"[0-9a-f]{2}", folder.name):
                continue
            for entry in sorted(folder.iterdir()):
                m = _NAME.fullmatch(entry.name)
                if m is None or not m["sha"].startswith(folder.name):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                yield StoredFile(m["sha"], m["ext"], entry, st.st_size, _mtime(st.st_mtime))

    def leftovers(self) -> Iterator[tuple[Path, int, datetime]]:
        """Temporary files in the store's folders: writes a crash interrupted (``.part``) and
        files a crashed clean-up set aside (``.pruning``), with size and mtime."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not re.fullmatch(r"[0-9a-f]{2}", folder.name):
                continue
            for entry in sorted(folder.glob(".*")):
                if not entry.name.endswith((PART_SUFFIX, PRUNING_SUFFIX)):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                yield entry, st.st_size, _mtime(st.st_mtime)

    def restore_set_aside(self, aside: Path) -> None:
        """Put back a file a crashed clean-up set aside (the store's copy wins if it exists)."""
        name = aside.name.removeprefix(".").removesuffix(PRUNING_SUFFIX)
        target = aside.parent / name
        if _NAME.fullmatch(name) is None or target.exists():
            aside.unlink(missing_ok=True)
            return
        os.rename(aside, target)
        logger.warning("put back %s, set aside by a clean-up that did not finish", name)

    def remove_unused(self, sha256: str, ext: str, used_before: datetime) -> int | None:
        """Remove the file if its last use is before ``used_before``: the bytes freed, or None
        when it is gone already or was used meanwhile (then it stays).

        The file is first renamed out of the way, then its mtime read again: a ``touch`` or
        ``put`` that came before the rename shows in the mtime (the file goes back), one after
        it finds no file and renders it again."""
        path = self.path(sha256, ext)
        aside = path.with_name(f".{path.name}{PRUNING_SUFFIX}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return None
        st = aside.stat()
        if _mtime(st.st_mtime) >= used_before:
            os.rename(aside, path)  # a put meanwhile wrote the same bytes: either copy will do
            return None
        aside.unlink()
        return st.st_size


def _mtime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
