"""The media endpoint answers ``Range: bytes=N-`` with the rest of the file (206), so an agent
whose download was cut resumes it instead of starting over (``broadcaster/agent/fetch.py``)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from audio.store import MediaStore
from broadcaster.config import Settings


@pytest.fixture
def stored(settings: Settings, sample_mp3: bytes) -> str:
    return MediaStore(settings.media_dir).put(sample_mp3, "mp3")


def test_a_range_from_a_byte_on_gets_206_and_the_rest(
    client: FlaskClient, stored: str, sample_mp3: bytes
) -> None:
    size = len(sample_mp3)
    start = size // 3
    with client.get(f"/media/{stored}.mp3", headers={"Range": f"bytes={start}-"}) as r:
        assert r.status_code == 206
        assert r.headers["Content-Range"] == f"bytes {start}-{size - 1}/{size}"
        assert r.headers["Accept-Ranges"] == "bytes"
        assert r.get_data() == sample_mp3[start:]
        assert int(r.headers["Content-Length"]) == size - start


def test_a_range_past_the_end_gets_416(client: FlaskClient, stored: str, sample_mp3: bytes) -> None:
    with client.get(f"/media/{stored}.mp3", headers={"Range": f"bytes={len(sample_mp3)}-"}) as r:
        assert r.status_code == 416
