"""Helpers for agent tests: a media HTTP server, real MP3s, a server-side MQTT client, fake
players, and a real agent subprocess."""

from __future__ import annotations

import functools
import hashlib
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.agent.players import FINISHED, INTERRUPTED
from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.wire.messages import Ack
from broadcaster.wire.plan import Media, Plan, PlanItem
from broadcaster.wire.signing import Signer
from tests.support.agents import AgentProcess, file_agent_config, wait_for

SITE = "cum-loa-t1"


def utc(seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# -- media ------------------------------------------------------------------------------------


def make_mp3(path: Path, seconds: float = 1.0, frequency: int = 440) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", f"sine=frequency={frequency}:duration={seconds}", "-ac", "1", "-b:a", "64k"]
        + [str(path)],
        check=True,
        capture_output=True,
    )
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def tone_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 1 s MP3, made once per session."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is not installed: run scripts/bootstrap.sh")
    return make_mp3(tmp_path_factory.mktemp("tone") / "tone.mp3")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@dataclass
class MediaServer:
    root: Path
    base_url: str

    def add(self, source: Path, *, as_sha: str | None = None) -> Media:
        """Serve ``source`` at /media/<sha>.mp3 (``as_sha`` serves it under a wrong hash)."""
        sha = as_sha or sha256_of(source)
        target = self.root / "media" / f"{sha}.mp3"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return Media(
            sha256=sha,
            url=f"{self.base_url}/media/{sha}.mp3",
            size=source.stat().st_size,
            duration_ms=1000,
        )


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def make_plan(
    version: int,
    items: list[tuple[str, float, Media]],
    *,
    site: str = SITE,
    expires_in: float = 3600.0,
) -> Plan:
    """A plan whose items start ``offset`` seconds from now."""
    now = utc()
    return Plan(
        site=site,
        version=version,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in),
        items=tuple(
            PlanItem(
                id=item_id,
                start=now + timedelta(seconds=offset),
                title=f"Thông báo {item_id}",
                announcement_id=7,
                priority="normal",
                media=media,
            )
            for item_id, offset, media in items
        ),
    )


# -- fake player ------------------------------------------------------------------------------


class BlockingPlayer:
    """Plays for ``seconds`` (interruptible) and records (label, outcome)."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self.log: list[tuple[str, str]] = []
        self.playing = threading.Event()

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        self.playing.set()
        outcome = INTERRUPTED if stop.wait(self.seconds) else FINISHED
        self.playing.clear()
        self.log.append((label, outcome))
        return outcome


class FakePlayer:
    """Records what it was asked to play; ``fail`` makes it raise."""

    def __init__(self, outcome: str = FINISHED) -> None:
        self.played: list[tuple[Path, str]] = []
        self.outcome = outcome

    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        self.played.append((path, label))
        if stop.is_set():
            return INTERRUPTED
        return self.outcome


# -- server side of MQTT ----------------------------------------------------------------------


class ServerClient:
    """A paho client logged in as the broker's ``server`` user: publishes signed plans and acks,
    collects events and statuses."""

    def __init__(self, broker: PrivateBroker, signer: Signer) -> None:
        self.broker = broker
        self.signer = signer
        self.topics = broker.topics
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.statuses: list[dict[str, Any]] = []
        self.seen_ids: set[str] = set()
        self.all_events: list[dict[str, Any]] = []
        self.batches = 0  # ``events`` messages seen
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-server")
        self.client.username_pw_set(SERVER_USER, broker.server_password)
        self.client.reconnect_delay_set(1, 2)  # fault tests restart the broker
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()

    def __enter__(self) -> ServerClient:
        self.client.connect("127.0.0.1", self.broker.server_port)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise AssertionError("server client did not subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe([(self.topics.all_events(), 1), (self.topics.all_status(), 1)])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        data = json.loads(msg.payload)
        if msg.topic.endswith("/status"):
            self.statuses.append(data)
            return
        self.batches += data.get("type") == "events"
        # A batch (sent once a real ingest announced them) is its events, each as if alone.
        for event in data["events"] if data.get("type") == "events" else [data]:
            self.all_events.append(event)
            if event["id"] not in self.seen_ids:
                self.seen_ids.add(event["id"])
                self.events.put(event)

    def publish(self, topic: str, payload: bytes, retain: bool = False, qos: int = 1) -> None:
        """Also a ``broadcaster.publish.Publisher`` (for CommandPublisher)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(5)

    def publish_plan(self, plan: Plan, signer: Signer | None = None, site: str = SITE) -> None:
        data = (signer or self.signer).sign(plan.to_dict())
        self.publish(self.topics.plan(site), data, retain=True)

    def publish_ack(self, outbox: str, seq: int, site: str = SITE) -> None:
        ack = Ack(site=site, outbox=outbox, seq=seq, issued_at=utc())
        self.publish(self.topics.ack(site), self.signer.sign(ack.to_dict()))

    def next_event(self, timeout: float = 10.0, kind: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout}s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind is None or event["kind"] == kind:
                return event

    def wait_online(self, site: str = SITE, timeout: float = 10.0) -> None:
        wait_for(
            lambda: any(s["site"] == site and s["state"] == "online" for s in self.statuses),
            timeout,
            f"{site} online",
        )


# -- a real agent subprocess ------------------------------------------------------------------


@dataclass
class AgentRig:
    broker: PrivateBroker
    server: ServerClient
    agent: AgentProcess
    media: MediaServer
    signer: Signer


@pytest.fixture
def rig(broker: PrivateBroker, media_server: MediaServer, tmp_path: Path) -> Iterator[AgentRig]:
    """A running broker, a server client, a media server and a real agent that is online."""
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    agent = AgentProcess(file_agent_config(account, broker.port, signer, tmp_path), tmp_path)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            server.wait_online()
            yield AgentRig(broker, server, agent, media_server, signer)
        finally:
            code = agent.stop()
            print(agent.log())
            assert code == 0, "the agent did not exit cleanly"


# -- a live radio stream, served by a thread ----------------------------------------------------


@dataclass
class Radio:
    live_url: str  # paced like a live MP3 stream, for as long as anyone listens
    drop_url: str  # sends about one second, then the connection drops
    dead_url: str  # nobody listens on that port


@pytest.fixture(scope="session")
def radio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radio]:
    from http.server import BaseHTTPRequestHandler

    mp3 = make_mp3(tmp_path_factory.mktemp("radio") / "radio.mp3", seconds=30, frequency=523)
    data = mp3.read_bytes()
    rate = 64000 // 8  # bytes per second at 64 kbit/s

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path not in ("/live.mp3", "/drop.mp3"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.end_headers()
            limit = rate if self.path == "/drop.mp3" else len(data)
            began = time.monotonic()
            sent = 0
            try:
                while sent < limit:
                    chunk = data[sent : sent + rate // 10]
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    sent += len(chunk)
                    ahead = sent / rate - (time.monotonic() - began) - 0.5  # 0.5 s of buffer
                    if ahead > 0:
                        time.sleep(ahead)
            except (BrokenPipeError, ConnectionResetError):
                return
            if self.path == "/drop.mp3":
                self.close_connection = True

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    from broadcaster.broker import free_port

    try:
        yield Radio(f"{base}/live.mp3", f"{base}/drop.mp3", f"http://127.0.0.1:{free_port()}/x.mp3")
    finally:
        httpd.shutdown()
        httpd.server_close()
