"""Content-addressed media store: files named by their SHA-256, written atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from broadcaster.wire.files import write_atomic

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = re.compile(r"[a-z0-9]{1,10}")


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

    def put(self, data: bytes, ext: str) -> str:
        """Store data (once) and return its SHA-256 hex digest."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256, ext)
        if target.is_file():
            return sha256
        write_atomic(target, data, 0o644)  # world-readable: a reverse proxy may serve these
        logger.info("stored %s.%s (%d bytes)", sha256, ext, len(data))
        return sha256
