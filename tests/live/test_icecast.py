"""The private Icecast: a port another process holds costs a try, not the test; every mount
needs the session's login, and two sessions allowed within one second are both let in (Icecast
re-reads the password file only when its mtime, in whole seconds, moves)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from broadcaster.live import icecast as module
from broadcaster.live.icecast import ListenerPasswords, PrivateIcecast
from tests.support.agents import wait_for

from .conftest import open_session


def test_a_taken_port_costs_a_try(monkeypatch: pytest.MonkeyPatch) -> None:
    if PrivateIcecast.binary() is None:
        pytest.fail("icecast2 is not installed: run scripts/bootstrap.sh")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = iter([taken])
        real = module.free_port
        monkeypatch.setattr(module, "free_port", lambda: next(ports, None) or real())
        server = PrivateIcecast()
        server.start()
        try:
            assert server.port != taken
            assert server.process is not None and server.process.poll() is None
        finally:
            server.stop()


def test_password_file_mtime_moves_forward_on_every_write(tmp_path: Path) -> None:
    passwords = ListenerPasswords(tmp_path / "listeners")
    stamps = []
    for n in range(3):
        passwords.allow(f"s{n}", f"t{n}")
        stamps.append((tmp_path / "listeners").stat().st_mtime)
    assert stamps == sorted(set(stamps))  # three writes, three different seconds
    passwords.revoke("s1")
    assert [line.split(":")[0] for line in (tmp_path / "listeners").read_text().splitlines()] == [
        "s0",
        "s2",
    ]


def test_every_mount_needs_its_session_login(
    icecast: PrivateIcecast, tone_webm: Path, tmp_path: Path
) -> None:
    first = open_session(icecast, tmp_path / "a")
    second = open_session(icecast, tmp_path / "b")  # allowed within the same second
    sender = second.send(tone_webm.read_bytes(), 12.0)
    url = second.live.url
    try:

        def served() -> bool:
            with requests.get(
                url, auth=(second.live.session, second.live.token), stream=True, timeout=3
            ) as r:
                return r.status_code == 200

        wait_for(served, 10, "the second session's mount")
        assert requests.get(url, stream=True, timeout=3).status_code == 401
        assert (
            requests.get(
                url, auth=(second.live.session, "guess"), stream=True, timeout=3
            ).status_code
            == 401
        )
    finally:
        sender.stop.set()
        first.feed.close()
        second.feed.close()
