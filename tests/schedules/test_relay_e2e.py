"""A relay end to end: the scheduler renders the fallback and publishes the plan over a real
Mosquitto; a real agent subprocess relays a local paced radio stream, or plays the fallback when
the stream is down."""

from __future__ import annotations

import re
import threading
import wave
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from audio.store import MediaStore
from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.models import Media, Relay, Zone
from broadcaster.publish import PlanPublisher
from broadcaster.wire.signing import Signer
from schedules.programme_import import import_demo
from schedules.recurrence import to_local, to_utc
from schedules.runtime import SchedulerRuntime
from tests.agent.conftest import (  # noqa: F401 - the radio fixture is used here too
    SITE,
    Radio,
    ServerClient,
    radio,
    wait_for,
)
from tests.support.agents import AgentProcess, file_agent_config

pytestmark = pytest.mark.slow  # about 20 s: two relays in real time


@pytest.fixture
def store_server(settings: Settings) -> Iterator[str]:
    """The server's media store over HTTP at /media/<sha>.<ext>, as the web app serves it."""
    store = MediaStore(settings.media_dir)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            m = re.fullmatch(r"/media/([0-9a-f]{64})\.(\w+)", self.path)
            path = store.path(m.group(1), m.group(2)) if m else None
            if path is None or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_a_relay_in_a_published_plan_is_relayed_or_falls_back(
    broker: PrivateBroker,
    settings: Settings,
    db,
    radio: Radio,  # noqa: F811
    store_server: str,
    tmp_path: Path,
) -> None:
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    agent = AgentProcess(file_agent_config(account, broker.port, signer, tmp_path), tmp_path)
    server_settings = settings.replace(public_url=store_server)
    tz = settings.timezone
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            # Two relays on thôn 1, a few seconds from now: the live radio, then a dead one.
            now = datetime.now().astimezone()
            live_at = to_local(now + timedelta(seconds=6), tz).replace(microsecond=0)
            dead_at = live_at + timedelta(seconds=4)
            with db() as s, s.begin():
                import_demo(s)
                thon1 = s.get(Zone, "thon-1")
                for name, url, at, seconds in (
                    ("Đài tỉnh", radio.live_url, live_at, 3),
                    ("VOV1", radio.dead_url, dead_at, 3),
                ):
                    s.add(
                        Relay(
                            name=name,
                            stream_url=url,
                            start=at.time(),
                            duration_s=seconds,
                            zones=[thon1],
                        )
                    )
            plans = PlanPublisher(signer, server, broker.topics, timedelta(hours=1))
            runtime = SchedulerRuntime(server_settings, db, plans, SystemClock())  # real agents
            runtime.start()  # renders the fallback (espeak-ng), then publishes at once
            try:
                with db() as s:
                    relays = {r.name: r for r in s.scalars(select(Relay))}
                    fallback = s.get(Media, relays["VOV1"].fallback_sha256)
                    assert fallback is not None and fallback.duration_ms > 1000
                live_id = f"r{relays['Đài tỉnh'].id}-{int(to_utc(live_at, tz).timestamp())}"
                dead_id = f"r{relays['VOV1'].id}-{int(to_utc(dead_at, tz).timestamp())}"
                server.wait_online()

                def finished(item_id: str) -> dict[str, Any] | None:
                    return next(
                        (
                            e
                            for e in server.all_events
                            if e.get("item_id") == item_id and e["kind"] == "finished"
                        ),
                        None,
                    )

                live = wait_for(lambda: finished(live_id), 20, f"{live_id} finished")
                dead = wait_for(lambda: finished(dead_id), 25, f"{dead_id} finished")
            finally:
                runtime.stop()
        finally:
            code = agent.stop()
            print(agent.log())
    assert code == 0
    kinds = {(e["item_id"], e["kind"]) for e in server.all_events if e.get("item_id")}
    assert {(live_id, "started"), (dead_id, "started")} <= kinds
    started = next(
        e for e in server.all_events if (e.get("item_id"), e["kind"]) == (live_id, "started")
    )
    assert "stream " + radio.live_url in started["detail"]
    assert live["detail"] == "stream relayed"
    assert "fallback played" in dead["detail"]
    wavs = {p.name: p for p in agent.wavs()}
    relayed = [p for n, p in wavs.items() if n.endswith(f"_{live_id}.wav")]
    assert len(relayed) == 1 and 2.5 <= wav_seconds(relayed[0]) <= 3.5
    fell_back = [p for n, p in wavs.items() if n.endswith(f"_{dead_id}-fallback.wav")]
    assert len(fell_back) == 1
    assert abs(wav_seconds(fell_back[0]) - fallback.duration_ms / 1000) < 0.5
