"""MediaStore: content addressing, atomic idempotent writes, traversal-safe paths."""

from __future__ import annotations

import hashlib
import os

import pytest

from audio.store import MediaStore

SHA = "a" * 64


def test_put_returns_the_sha256_and_stores_under_its_prefix(store: MediaStore) -> None:
    data = b"ID3 some audio"
    sha = store.put(data, "mp3")
    assert sha == hashlib.sha256(data).hexdigest()
    path = store.path(sha, "mp3")
    assert path == store.root / sha[:2] / f"{sha}.mp3"
    assert path.read_bytes() == data
    assert store.exists(sha, "mp3")
    assert not store.exists(sha, "opus")
    assert path.stat().st_mode & 0o777 == 0o644


def test_put_is_idempotent_and_leaves_no_temp_files(store: MediaStore) -> None:
    first = store.put(b"same", "mp3")
    path = store.path(first, "mp3")
    inode = path.stat().st_ino
    os.utime(path, (1000, 1000))
    assert store.put(b"same", "mp3") == first
    assert path.stat().st_ino == inode  # not written again
    assert path.stat().st_mtime > 1000  # but marked used now (the media clean-up's last use)
    files = [name for _, _, names in os.walk(store.root) for name in names]
    assert files == [f"{first}.mp3"]


def test_a_failed_write_leaves_nothing(store: MediaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"data", "mp3")
    assert [n for _, _, names in os.walk(store.root) for n in names] == []


@pytest.mark.parametrize(
    "sha",
    ["../x", "A" * 64, "a" * 63, "a" * 65, "g" * 64, "", f"{'a' * 64}\n", "../" + "a" * 61],
)
def test_path_rejects_bad_hashes(store: MediaStore, sha: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.path(sha, "mp3")


@pytest.mark.parametrize("ext", ["", "../mp3", "mp3/..", "MP3", "mp3\n", "m.p3", "x" * 11])
def test_path_rejects_bad_extensions(store: MediaStore, ext: str) -> None:
    with pytest.raises(ValueError, match="extension"):
        store.path(SHA, ext)
    with pytest.raises(ValueError):
        store.put(b"data", ext)


def test_exists_validates_too(store: MediaStore) -> None:
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd", "mp3")
