"""broadcaster.wire.files: the one atomic write (server and agent)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from broadcaster.wire.files import PART_SUFFIX, atomic_writer, write_atomic


def test_write_replaces_the_file_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "keys.json"
    write_atomic(target, "một\n", 0o640)
    write_atomic(target, b"two\n", 0o600)
    assert target.read_bytes() == b"two\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["keys.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "media.mp3"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="bad hash"), atomic_writer(target, durable=False) as f:
        f.write(b"half of the new")
        raise ValueError("bad hash")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(f".*{PART_SUFFIX}"))
