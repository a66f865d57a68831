"""A long-running mpv (``--idle``) driven over its JSON IPC unix socket, so a start costs one
``loadfile`` instead of an mpv launch, and the start of sound is reported, not guessed.

:class:`MpvIpc` owns the process and the socket: it starts mpv on demand, reads replies and
events on a thread, and is restarted by :class:`IdleMpvPlayer` when it has died (a crash, an
OOM kill, someone's ``kill``). mpv gets ``PR_SET_PDEATHSIG`` so it does not outlive the agent
even after a ``kill -9``; :meth:`IdleMpvPlayer.close` stops it on an orderly exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .players import FINISHED, INTERRUPTED, MpvPlayer, PlayerError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0  # for mpv to open its socket
REPLY_TIMEOUT_S = 5.0
LOAD_TIMEOUT_S = 10.0  # loadfile → playback-restart (or the error that ends the file)
_PR_SET_PDEATHSIG = 1

Started = Callable[[float], None]  # seconds from loadfile to the player reporting playback


class MpvDied(PlayerError):
    """The mpv process or its socket went away."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class MpvIpc:
    """One mpv process in idle mode and its IPC socket."""

    def __init__(self, binary: str = "mpv", extra_args: tuple[str, ...] = ()) -> None:
        self.binary = shutil.which(binary) or binary
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._dir: Path | None = None
        self._sock: socket.socket | None = None
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.starts = 0  # how many times mpv was (re)started

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._sock is not None

    def start(self) -> None:
        """Start mpv and connect to its socket (MpvDied when it does not come up)."""
        self.close()
        self._dir = Path(tempfile.mkdtemp(prefix="mpv-ipc-"))
        path = self._dir / "socket"
        cmd = [self.binary, "--idle=yes", "--no-video", "--no-terminal", "--really-quiet"]
        cmd += ["--keep-open=no", f"--input-ipc-server={path}", *self.extra_args]
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            )
        except OSError as exc:
            self.close()
            raise MpvDied(f"cannot start {self.binary}: {exc}") from None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.close()
                raise MpvDied(f"mpv exited with {code} before opening its IPC socket")
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(path))
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    self.close()
                    raise MpvDied(f"mpv opened no IPC socket in {START_TIMEOUT_S:g} s") from None
                time.sleep(0.02)
        self._sock = sock
        self.events = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(sock,), daemon=True)
        self._reader.name = "mpv-ipc"
        self._reader.start()
        self.starts += 1
        logger.info("mpv --idle started (pid %d)", self.proc.pid)

    def _read(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.events.put({"event": "_closed"})
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    logger.warning("mpv sent a line that is not JSON: %r", line[:200])
                    continue
                if "request_id" in message and "event" not in message:
                    waiter = self._replies.pop(int(message["request_id"]), None)
                    if waiter is not None:
                        waiter.put(message)
                else:
                    self.events.put(message)

    def command(self, *args: Any, timeout: float = REPLY_TIMEOUT_S) -> Any:
        """Send a command and return its reply's data (PlayerError on an mpv error)."""
        sock = self._sock
        if sock is None or not self.alive:
            raise MpvDied("mpv is not running")
        waiter: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
        with self._lock:
            self._next_id += 1
            request = self._next_id
            self._replies[request] = waiter
            payload = json.dumps({"command": list(args), "request_id": request}) + "\n"
            try:
                sock.sendall(payload.encode("utf-8"))
            except OSError as exc:
                self._replies.pop(request, None)
                raise MpvDied(f"cannot talk to mpv: {exc}") from None
        try:
            reply = waiter.get(timeout=timeout)
        except queue.Empty:
            self._replies.pop(request, None)
            if not self.alive:
                raise MpvDied("mpv died") from None
            raise PlayerError(f"mpv did not answer {args[0]} in {timeout:g} s") from None
        if reply.get("error") != "success":
            raise PlayerError(f"mpv refused {args[0]}: {reply.get('error')}")
        return reply.get("data")

    def close(self) -> None:
        """Stop mpv (if running) and remove its socket directory."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(2)
            self._reader = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class IdleMpvPlayer:
    """Plays files through one mpv kept running between items (``--idle`` + IPC ``loadfile``)
    and reports when sound starts (mpv's ``playback-restart`` after the load).

    ``prepare(path)`` (the runner calls it ``prepare_s`` before a start) starts mpv again if it
    died and reads the file once, so at the start mpv finds it in the page cache (an SD card
    is slow). Streams are relayed by an mpv process per stream, as :class:`MpvPlayer` does.
    """

    reports_start = True

    def __init__(
        self, binary: str = "mpv", extra_args: tuple[str, ...] = (), poll_s: float = 0.1
    ) -> None:
        self.ipc = MpvIpc(binary, extra_args)
        self.poll_s = poll_s
        self._streams = MpvPlayer(binary, poll_s, extra_args)
        self._lock = threading.Lock()  # one item at a time

    def prepare(self, path: Path | None = None) -> None:
        """Make sure mpv runs (start it again if it died) and ``path`` is in the page cache."""
        with self._lock:
            try:
                self._ensure()
            except MpvDied as exc:
                self.ipc.close()
                raise PlayerError(f"mpv is not ready: {exc}") from None
        if path is not None:
            with contextlib.suppress(OSError), path.open("rb") as fh:
                while fh.read(1 << 16):
                    pass

    def _ensure(self) -> None:
        if not self.ipc.alive:
            if self.ipc.starts:
                logger.warning("mpv is gone; starting it again")
            self.ipc.start()

    def play(
        self,
        path: Path,
        stop: threading.Event,
        *,
        label: str = "",
        started: Started | None = None,
    ) -> str:
        with self._lock:
            try:
                self._ensure()
                return self._play(path, stop, started)
            except MpvDied as exc:
                self.ipc.close()  # started afresh for the next item (or by prepare)
                raise PlayerError(f"mpv died while playing {path.name}: {exc}") from None

    def _play(self, path: Path, stop: threading.Event, started: Started | None) -> str:
        self._drain()
        began = time.monotonic()
        data = self.ipc.command("loadfile", str(path), "replace")
        entry = data.get("playlist_entry_id") if isinstance(data, dict) else None
        playing = False
        while True:
            event = self._next_event(stop, None if playing else began + LOAD_TIMEOUT_S)
            if event is None:  # stop was set
                with contextlib.suppress(PlayerError):
                    self.ipc.command("stop")
                return INTERRUPTED
            kind = event.get("event")
            if kind == "playback-restart" and not playing:
                playing = True
                if started is not None:
                    started(time.monotonic() - began)
            elif kind == "end-file" and event.get("playlist_entry_id", entry) == entry:
                reason = event.get("reason")
                if reason == "error":
                    raise PlayerError(f"mpv could not play {path.name}: {event.get('file_error')}")
                if reason in ("eof", None) and playing:
                    return FINISHED
                raise PlayerError(f"mpv ended {path.name} early ({reason})")

    def _next_event(self, stop: threading.Event, deadline: float | None) -> dict[str, Any] | None:
        """The next mpv event; None when ``stop`` is set; MpvDied when mpv went away."""
        while True:
            if stop.is_set():
                return None
            if deadline is not None and time.monotonic() > deadline:
                raise PlayerError(f"mpv did not start playing in {LOAD_TIMEOUT_S:g} s")
            try:
                event = self.ipc.events.get(timeout=self.poll_s)
            except queue.Empty:
                if not self.ipc.alive:
                    raise MpvDied("mpv exited") from None
                continue
            if event.get("event") == "_closed":
                raise MpvDied("mpv closed its IPC socket")
            return event

    def _drain(self) -> None:
        """Forget events of earlier items (a stopped file's end-file, idle…)."""
        while True:
            try:
                event = self.ipc.events.get_nowait()
            except queue.Empty:
                return
            if event.get("event") == "_closed":
                raise MpvDied("mpv closed its IPC socket")

    def play_stream(
        self, url: str, duration_s: float, stop: threading.Event, *, label: str = ""
    ) -> str:
        return self._streams.play_stream(url, duration_s, stop, label=label)

    def play_live(
        self, url: str, stop: threading.Event, *, stall_s: float, max_s: float, label: str = ""
    ) -> str:
        return self._streams.play_live(url, stop, stall_s=stall_s, max_s=max_s, label=label)

    def close(self) -> None:
        """Stop mpv."""
        with self._lock:
            self.ipc.close()
