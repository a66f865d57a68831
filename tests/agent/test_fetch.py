from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.agent.fetch import MediaCache, MediaError, Prefetcher
from broadcaster.agent.store import Store

from .conftest import MediaServer, make_plan


def test_fetch_verifies_and_caches(tmp_path: Path, media_server: MediaServer) -> None:
    src = tmp_path / "a.mp3"
    src.write_bytes(b"ID3 not really audio " * 100)
    media = media_server.add(src)
    with Store(tmp_path / "s.sqlite3", "s1") as store:
        cache = MediaCache(tmp_path / "media", 5.0, store)
        path = cache.fetch(media)
        assert path == tmp_path / "media" / f"{media.sha256}.mp3"
        assert path.read_bytes() == src.read_bytes()
        assert store.media_path(media.sha256) == path
        # a cache hit does not need the server
        (media_server.root / "media" / f"{media.sha256}.mp3").unlink()
        assert cache.fetch(media) == path


def test_hash_mismatch_is_not_kept(tmp_path: Path, media_server: MediaServer) -> None:
    src = tmp_path / "a.mp3"
    src.write_bytes(b"tampered")
    media = media_server.add(src, as_sha="ab" * 32)
    cache = MediaCache(tmp_path / "media", 5.0)
    with pytest.raises(MediaError, match="sha256 mismatch"):
        cache.fetch(media)
    assert list((tmp_path / "media").iterdir()) == []


def test_corrupt_cached_file_is_deleted_and_fetched_again(
    tmp_path: Path, media_server: MediaServer
) -> None:
    src = tmp_path / "a.mp3"
    src.write_bytes(b"good bytes")
    media = media_server.add(src)
    cache = MediaCache(tmp_path / "media", 5.0)
    cache.path_for(media).write_bytes(b"bit rot")
    assert cache.fetch(media).read_bytes() == b"good bytes"


def test_missing_media_raises(tmp_path: Path, media_server: MediaServer) -> None:
    src = tmp_path / "a.mp3"
    src.write_bytes(b"x")
    media = media_server.add(src)
    (media_server.root / "media" / f"{media.sha256}.mp3").unlink()
    with pytest.raises(MediaError, match="404"):
        MediaCache(tmp_path / "media", 5.0).fetch(media)


def test_prefetch_fetches_all_upcoming(tmp_path: Path, media_server: MediaServer) -> None:
    import threading

    srcs = []
    for n in range(2):
        srcs.append(tmp_path / f"{n}.mp3")
        srcs[-1].write_bytes(f"media {n}".encode())
    good = media_server.add(srcs[0])
    bad = media_server.add(srcs[1], as_sha="cd" * 32)
    plan = make_plan(1, [("a", 10, good), ("b", 20, bad), ("c", 30, good)])
    cache = MediaCache(tmp_path / "media", 5.0)
    prefetcher = Prefetcher(cache, lambda: list(plan.items), threading.Event())
    assert prefetcher.fetch_all() == 1
    assert cache.cached(good) is not None
    assert cache.cached(bad) is None
