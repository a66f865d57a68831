"""The render cache: synthesized pieces on disk, addressed by (engine, voice, spoken text),
and mastered results, addressed by everything that changes the mastered bytes.

Re-rendering an edited announcement synthesizes only the sentences that changed; rendering the
same announcement again skips synthesis and mastering (a mastered entry is a small JSON note of
where the result sits in the media store). Entries are written atomically; prune() keeps the
cache under a size, least recently used first.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import wave
from pathlib import Path
from typing import Any

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from broadcaster.wire.files import write_atomic

logger = logging.getLogger(__name__)

FORMAT = 1  # bump when what a key means changes (e.g. a new pause model inside pieces)
MASTERED = "mastered"  # the sub-directory of mastered-result entries


class RenderCache:
    """Synthesized speech under root/<first two hex digits>/<sha256 of the key>.wav."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(engine: str, voice: str, text: str) -> str:
        """The content address of a piece: SHA-256 over engine, voice and the spoken text."""
        blob = json.dumps([FORMAT, engine, voice, text], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @staticmethod
    def mastered_key(**parts: Any) -> str:
        """The address of a mastered result: SHA-256 over every part (JSON values) that
        changes the output: engine, voice, spoken pieces, repeat, chime, target, format…"""
        blob = json.dumps([FORMAT, MASTERED, parts], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        """Where an entry lives."""
        return self.root / key[:2] / f"{key}.wav"

    def mastered_path(self, key: str) -> Path:
        """Where a mastered-result entry lives."""
        return self.root / MASTERED / key[:2] / f"{key}.json"

    def get_mastered(self, key: str) -> dict[str, Any] | None:
        """The mastered result's note, or None (an unreadable entry is dropped)."""
        path = self.mastered_path(key)
        try:
            note = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("render cache: dropping unreadable %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        if not isinstance(note, dict):
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return note

    def put_mastered(self, key: str, note: dict[str, Any]) -> None:
        """Remember a mastered result (where it is stored and what it is)."""
        data = json.dumps(note, sort_keys=True).encode("utf-8")
        write_atomic(self.mastered_path(key), data, 0o600, durable=False)

    def drop_mastered(self, key: str) -> None:
        """Forget a mastered result (its media is gone or its note does not fit)."""
        self.mastered_path(key).unlink(missing_ok=True)

    def _entries(self) -> list[Path]:
        return [*self.root.glob("*/*.wav"), *self.root.glob(f"{MASTERED}/*/*.json")]

    def get(self, key: str) -> AudioSegment | None:
        """The cached audio, or None (a damaged entry is dropped and counts as a miss)."""
        path = self.path(key)
        try:
            with path.open("rb") as fh:
                audio = AudioSegment.from_wav(fh)
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, EOFError, wave.Error, CouldntDecodeError) as exc:
            logger.warning("render cache: dropping unreadable %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        os.utime(path)  # last use, for prune()
        self.hits += 1
        return audio

    def put(self, key: str, audio: AudioSegment) -> None:
        """Store audio under key, atomically."""
        buf = io.BytesIO()
        audio.export(buf, format="wav")
        # A cache: rebuilt by rendering again, so no fsync.
        write_atomic(self.path(key), buf.getvalue(), 0o600, durable=False)

    def size(self) -> int:
        """Bytes used by all entries."""
        return sum(p.stat().st_size for p in self._entries())

    def prune(self, max_bytes: int) -> int:
        """Delete least recently used entries until the cache fits max_bytes; return how many."""
        entries = sorted(
            ((p.stat().st_mtime, p.stat().st_size, p) for p in self._entries()),
            key=lambda e: e[0],
        )
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        if removed:
            logger.info("render cache: pruned %d entries, %d bytes left", removed, total)
        return removed
