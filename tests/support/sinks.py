"""Local stand-ins for the outside world's receivers: a webhook (HTTP POST) and an SMTP server,
each on a free port on a thread, keeping what they were sent."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


class WebhookSink:
    """An HTTP server taking JSON POSTs; answers ``status`` (set 503 to make senders retry)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 204
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.status < 300:
                    sink.received.append(json.loads(body))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    sink = WebhookSink()
    yield sink.url, sink.received
    sink.close()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    yield sink
    sink.close()


class SmtpSink:
    """A minimal SMTP server on a thread: accepts one session at a time, keeps the messages."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.messages: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as rf:
                conn.sendall(b"220 sink ready\r\n")
                while line := rf.readline():
                    cmd = line.strip().upper()
                    if cmd.startswith((b"EHLO", b"HELO")):
                        conn.sendall(b"250 sink\r\n")
                    elif cmd == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        data = b""
                        while (chunk := rf.readline()) != b".\r\n":
                            data += chunk
                        self.messages.append(data)
                        conn.sendall(b"250 queued\r\n")
                    elif cmd == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()
