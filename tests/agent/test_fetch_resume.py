"""A download cut mid-way resumes with HTTP Range: against a real HTTP server (a thread) that
honours ``Range: bytes=N-`` and drops the connection after a set number of body bytes."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from broadcaster.agent.fetch import MediaCache, MediaError
from broadcaster.wire.plan import Media

BODY = os.urandom(48 * 1024)  # bytes whose every prefix differs from every other
SHA = hashlib.sha256(BODY).hexdigest()


@dataclass
class Served:
    range: str | None  # the request's Range header
    status: int
    sent: int  # body bytes written before the end or the cut


@dataclass
class RangeServer:
    """Serves BODY at /media/<SHA>.mp3. ``cuts`` lists, request by request, after how many body
    bytes to drop the connection (None: send it all). ``ranges=False`` ignores Range (a 200 every
    time); ``shift`` moves the start of every 206 (a broken server)."""

    base_url: str = ""
    cuts: list[int | None] = field(default_factory=list)
    ranges: bool = True
    shift: int = 0
    log: list[Served] = field(default_factory=list)

    def media(self) -> Media:
        return Media(
            sha256=SHA, url=f"{self.base_url}/media/{SHA}.mp3", size=len(BODY), duration_ms=1000
        )


@pytest.fixture
def range_server() -> Iterator[RangeServer]:
    state = RangeServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            asked = self.headers.get("Range")
            start, status = 0, 200
            match = re.fullmatch(r"bytes=(\d+)-", asked or "")
            if state.ranges and match:
                start = int(match[1])
                if start >= len(BODY):
                    state.log.append(Served(asked, 416, 0))
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(BODY)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, status = start + state.shift, 206
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
            else:
                self.send_response(200)
            body = BODY[start:]
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = state.cuts.pop(0) if state.cuts else None
            if cut is not None:
                body = body[:cut]
            state.log.append(Served(asked, status, len(body)))  # before the client can see it
            self.wfile.write(body)
            self.wfile.flush()
            if cut is not None:  # drop the connection with the body short of Content-Length
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_cut_download_resumes_with_range_and_appends(
    tmp_path: Path, range_server: RangeServer
) -> None:
    range_server.cuts = [20_000, 10_000]  # two cuts, then the rest
    media = range_server.media()
    cache = MediaCache(tmp_path / "media", 5.0)
    part = cache.part_path(media)

    with pytest.raises(MediaError, match="download failed"):
        cache.fetch(media)
    assert part.read_bytes() == BODY[:20_000]  # what arrived is kept, not thrown away
    with pytest.raises(MediaError, match="download failed"):
        cache.fetch(media)
    assert part.read_bytes() == BODY[:30_000]
    path = cache.fetch(media)

    assert path.read_bytes() == BODY
    assert not part.exists()
    assert [(s.range, s.status) for s in range_server.log] == [
        (None, 200),
        ("bytes=20000-", 206),
        ("bytes=30000-", 206),
    ]
    assert sum(s.sent for s in range_server.log) == len(BODY)  # no byte fetched twice
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_server_that_ignores_range_makes_it_start_over(
    tmp_path: Path, range_server: RangeServer
) -> None:
    range_server.cuts = [20_000]
    range_server.ranges = False
    media = range_server.media()
    cache = MediaCache(tmp_path / "media", 5.0)
    with pytest.raises(MediaError):
        cache.fetch(media)
    assert cache.fetch(media).read_bytes() == BODY  # the 200 replaced the part, not appended
    assert [(s.range, s.status, s.sent) for s in range_server.log] == [
        (None, 200, 20_000),
        ("bytes=20000-", 200, len(BODY)),
    ]


def test_a_206_of_another_range_drops_the_part(tmp_path: Path, range_server: RangeServer) -> None:
    range_server.cuts = [20_000]
    range_server.shift = 100
    media = range_server.media()
    cache = MediaCache(tmp_path / "media", 5.0)
    with pytest.raises(MediaError, match="download failed"):
        cache.fetch(media)
    with pytest.raises(MediaError, match="asked for bytes 20000-"):
        cache.fetch(media)
    assert not cache.part_path(media).exists()
    assert cache.fetch(media).read_bytes() == BODY  # from the start, without a Range
    assert range_server.log[-1].range is None


def test_a_part_too_long_or_complete_is_not_asked_for(
    tmp_path: Path, range_server: RangeServer
) -> None:
    media = range_server.media()
    cache = MediaCache(tmp_path / "media", 5.0)
    part = cache.part_path(media)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(BODY)  # the agent stopped between the last byte and the rename
    assert cache.fetch(media).read_bytes() == BODY
    assert range_server.log == []
    cache.path_for(media).unlink()
    part.write_bytes(b"x" * 1000 + BODY)  # not a prefix of anything
    assert cache.fetch(media).read_bytes() == BODY
    assert [s.range for s in range_server.log] == [None]


def test_a_resumed_file_with_a_wrong_hash_is_deleted(
    tmp_path: Path, range_server: RangeServer
) -> None:
    media = range_server.media()
    cache = MediaCache(tmp_path / "media", 5.0)
    part = cache.part_path(media)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"\0" * 1000)  # a part that is not the file's first bytes
    with pytest.raises(MediaError, match="sha256 mismatch"):
        cache.fetch(media)
    assert range_server.log[0].range == "bytes=1000-"
    assert not part.exists() and not cache.path_for(media).exists()
    assert cache.fetch(media).read_bytes() == BODY  # the next try starts over


def test_parts_survive_a_restart_but_stray_temporaries_do_not(
    tmp_path: Path, range_server: RangeServer
) -> None:
    media = range_server.media()
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    stray = media_dir / f".{SHA}.mp3.k2j4h5g6.part"  # atomic_writer's name, from an old agent
    stray.write_bytes(b"old")
    cache = MediaCache(media_dir, 5.0)
    cache.part_path(media).write_bytes(BODY[:5000])
    cache = MediaCache(media_dir, 5.0)  # the agent restarted
    assert not stray.exists()
    assert cache.fetch(media).read_bytes() == BODY
    assert [s.range for s in range_server.log] == ["bytes=5000-"]


def test_parts_of_media_the_plan_no_longer_needs_are_deleted(tmp_path: Path) -> None:
    from broadcaster.agent.store import Store

    wanted, dropped = "a" * 64, "b" * 64
    pinned = {wanted}
    with Store(tmp_path / "s.sqlite3", "s1") as store:
        cache = MediaCache(tmp_path / "media", 5.0, store, max_bytes=10_000, pinned=lambda: pinned)
        for sha in (wanted, dropped):
            (tmp_path / "media" / f".{sha}.mp3.part").write_bytes(b"half")
        cache.evict()
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == [f".{wanted}.mp3.part"]


def test_a_416_drops_the_part_and_starts_over(tmp_path: Path, range_server: RangeServer) -> None:
    media = range_server.media()
    media = Media(media.sha256, media.url, size=2 * len(BODY), duration_ms=1000)  # a wrong size
    cache = MediaCache(tmp_path / "media", 5.0)
    part = cache.part_path(media)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"y" * (len(BODY) + 10))  # longer than the file: no range of it exists
    assert cache.fetch(media).read_bytes() == BODY
    assert [(s.range, s.status) for s in range_server.log] == [
        (f"bytes={len(BODY) + 10}-", 416),
        (None, 200),
    ]
