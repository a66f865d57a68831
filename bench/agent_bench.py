"""Agent start accuracy and footprint, with real agent subprocesses and a private Mosquitto.

    .venv/bin/python -m bench.agent_bench [--agents 10] [--items 20] [--window 20]

1. Start accuracy: ``--agents`` agents get plans whose ``--items`` items start at the same
   instants (a commune-wide schedule, one item every 5 s, 0.3 s each). The lateness of each start
   (the ``late_ms`` every ``started`` event carries) is collected by a server-side subscriber
   (deduplicated by event id: the bench does not ack, so outboxes resend). Player: the default,
   one mpv per agent kept running (``--idle``, ``--ao=null``) and driven over its IPC socket, so
   ``late_ms`` is due time → mpv reporting playback (``playback-restart`` after ``loadfile``).
   The bare part, in the same run: a bare ``mpv --idle`` on its own, ``loadfile`` →
   ``playback-restart`` timed over the socket with nothing else (no agent code), and the old
   way, an mpv launch per file.
2. Footprint of one agent with the default player, mpv (with ``--ao=null``: no sound card here):
   RSS and CPU of the agent process while idle (connected, nothing due) and while playing
   (items back to back), and of its mpv children.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
SPACING_S = 5.0


def _mp3(path: Path, seconds: float) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-ac",
            "1",
            "-b:a",
            "64k",
            str(path),
        ],
        check=True,
    )
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class _Server:
    def __init__(self, port: int, password: str) -> None:
        from broadcaster.broker import SERVER_USER

        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.online: set[str] = set()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-agent-server")
        self.client.username_pw_set(SERVER_USER, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([("loa/v1/sites/+/events", 1), ("loa/v1/sites/+/status", 1)])

    def _on_message(self, c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        data = json.loads(msg.payload)
        if data["type"] == "status":
            if data["state"] == "online":
                self.online.add(data["site"])
        else:
            self.events.put(data)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _start_agent(config: Any, workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    config.dump(workdir / "agent.toml")
    log = (workdir / "agent.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "broadcaster.agent", "--config", str(workdir / "agent.toml")],
        stdout=log,
        stderr=log,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cpu_s(pid: int) -> tuple[float, float]:
    """(own CPU seconds, reaped children's CPU seconds) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (the runner thread spawns the player)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _bare_idle_mpv(mpv: str, media: Path, tmp: Path, loads: int = 30) -> list[float]:
    """ms from sending ``loadfile`` to mpv's ``playback-restart``: one bare ``mpv --idle``
    over its JSON IPC socket, nothing of the agent's."""
    import socket as socketlib

    path = tmp / "bare-mpv.sock"
    proc = subprocess.Popen(
        [mpv, "--idle=yes", "--no-video", "--no-terminal", "--really-quiet"]
        + [f"--input-ipc-server={path}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        sock = socketlib.socket(socketlib.AF_UNIX)
        sock.connect(str(path))
        stream = sock.makefile("rwb")
        times: list[float] = []
        for n in range(loads):
            began = time.monotonic()
            request = {"command": ["loadfile", str(media), "replace"], "request_id": n}
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            for line in stream:
                if json.loads(line).get("event") == "playback-restart":
                    times.append((time.monotonic() - began) * 1000)
                    break
            for line in stream:  # let it play out before the next load
                if json.loads(line).get("event") == "idle":
                    break
            time.sleep(0.2)
        stream.close()
        sock.close()
        return times
    finally:
        proc.terminate()
        proc.wait(5)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(agents: int, items: int, window: float) -> str:
    from broadcaster.agent.config import AgentConfig
    from broadcaster.broker import PrivateBroker
    from broadcaster.wire.plan import Media, Plan, PlanItem
    from broadcaster.wire.signing import Signer
    from broadcaster.wire.topics import Topics

    tmp = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    topics = Topics()
    broker = PrivateBroker(tmp / "broker")
    sites = [f"site-{i:02d}" for i in range(agents)] + ["footprint"]
    for site in sites:
        broker.add_agent(site, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    www = tmp / "www"
    (www / "media").mkdir(parents=True)
    httpd, base = _serve(www)

    def media_for(seconds: float) -> Media:
        src = _mp3(tmp / f"{seconds}.mp3", seconds)
        sha = hashlib.sha256(src.read_bytes()).hexdigest()
        shutil.copyfile(src, www / "media" / f"{sha}.mp3")
        return Media(sha, f"{base}/media/{sha}.mp3", src.stat().st_size, int(seconds * 1000))

    def plan(site: str, version: int, starts: list[datetime], media: Media) -> bytes:
        now = datetime.now(UTC)
        its = tuple(
            PlanItem(f"{site}-{n}", t, "bench", 1, "normal", media) for n, t in enumerate(starts)
        )
        return signer.sign(Plan(site, version, now, now + timedelta(hours=1), its).to_dict())

    server = _Server(broker.server_port, broker.server_password)
    accounts = {a.site: a for a in broker.agents}

    def config(site: str, player: str) -> AgentConfig:
        return AgentConfig(
            site=site,
            zones=["thon-1"],
            state_dir=str(tmp / site / "state"),
            trusted_keys=[signer.public_b64],
            mqtt_port=broker.port,
            mqtt_username=accounts[site].username,
            mqtt_password=accounts[site].password,
            player=player,
            output_dir=str(tmp / site / "out"),
        )

    lines: list[str] = []
    try:
        # 1. start accuracy ---------------------------------------------------------------------
        short = media_for(0.3)
        wrapper = tmp / "bin"
        wrapper.mkdir()
        mpv = shutil.which("mpv") or "/usr/bin/mpv"
        (wrapper / "mpv").write_text(f'#!/bin/sh\nexec {mpv} --ao=null "$@"\n')
        (wrapper / "mpv").chmod(0o755)
        env = {"PATH": f"{wrapper}:{os.environ['PATH']}"}
        procs = [_start_agent(config(s, "mpv"), tmp / s, env) for s in sites[:agents]]
        deadline = time.monotonic() + 30
        while len(server.online & set(sites[:agents])) < agents and time.monotonic() < deadline:
            time.sleep(0.1)
        first = datetime.now(UTC) + timedelta(seconds=5)
        starts = [first + timedelta(seconds=SPACING_S * n) for n in range(items)]
        for site in sites[:agents]:
            server.publish(topics.plan(site), plan(site, 1, starts, short), retain=True)
        late: dict[str, int] = {}
        player_ms: dict[str, int] = {}
        done: set[str] = set()
        failed = 0
        deadline = time.monotonic() + 15 + items * SPACING_S * 1.3
        while len(done) < agents * items and time.monotonic() < deadline:
            try:
                event = server.events.get(timeout=1)
            except queue.Empty:
                continue
            if event["kind"] == "started":
                late[event["item_id"]] = int(event["late_ms"])
                found = re.search(r"player started in (\d+) ms", event.get("detail", ""))
                if found:
                    player_ms[event["item_id"]] = int(found.group(1))
            if event["kind"] in ("finished", "failed", "skipped") and event["id"] not in done:
                done.add(event["id"])
                failed += event["kind"] != "finished"
        for proc in procs:
            _stop(proc)
        if os.environ.get("BENCH_DEBUG"):
            print(sorted(late.items(), key=lambda kv: -kv[1])[:15], file=sys.stderr)
        bare_idle = _bare_idle_mpv(str(wrapper / "mpv"), tmp / "0.3.mp3", tmp)
        startup = []
        for _ in range(5):
            t = time.monotonic()
            subprocess.run(
                [str(wrapper / "mpv"), "--no-video", "--really-quiet", "--no-terminal"]
                + [str(tmp / "0.3.mp3")],
                check=False,
                capture_output=True,
            )
            startup.append((time.monotonic() - t - 0.3) * 1000)
        lates = list(late.values())
        players = list(player_ms.values()) or [0]
        lines += [
            f"## Agent start accuracy and footprint ({datetime.now(UTC):%Y-%m-%d})",
            "",
            f"Command: `.venv/bin/python -m bench.agent_bench --agents {agents} --items {items}` · "
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()} · "
            "real agent subprocesses, private Mosquitto, media prefetched over HTTP · load average "
            f"{os.getloadavg()[0]:.1f} (1 min) after the accuracy run.",
            "",
            f"Start accuracy: {agents} agents × {items} items starting at the same instants "
            f"({SPACING_S:.0f} s apart, 0.3 s each; player: one mpv per agent kept running, "
            f"`--idle --ao=null`, driven over IPC): {len(late)} starts ({failed} not finished).",
            "",
            "| what | p50 | p90 | p99 | max |",
            "| --- | --- | --- | --- | --- |",
            f"| **due time → mpv reports playback** (`late_ms` of `started`) | "
            f"{_pct(lates, 50)} ms | {_pct(lates, 90)} ms | **{_pct(lates, 99)} ms** | "
            f"{max(lates)} ms |",
            f"| of which loadfile → playback (the agent's mpv, `player started in`) | "
            f"{_pct(players, 50)} ms | {_pct(players, 90)} ms | {_pct(players, 99)} ms | "
            f"{max(players)} ms |",
            f"| bare: one `mpv --idle`, loadfile → `playback-restart` over its socket "
            f"({len(bare_idle)} loads, nothing else running) | {_pct(bare_idle, 50):.1f} ms | "
            f"{_pct(bare_idle, 90):.1f} ms | {_pct(bare_idle, 99):.1f} ms | "
            f"{max(bare_idle):.1f} ms |",
            f"| the old way: an mpv launch per file, time beyond the file's duration "
            f"(5 runs) | {_pct(startup, 50):.0f} ms | – | – | {max(startup):.0f} ms |",
            "",
        ]

        # 2. footprint --------------------------------------------------------------------------
        site = "footprint"
        proc = _start_agent(config(site, "mpv"), tmp / site, env)
        deadline = time.monotonic() + 30
        while site not in server.online and time.monotonic() < deadline:
            time.sleep(0.1)
        server.publish(topics.plan(site), plan(site, 1, [], short), retain=True)
        time.sleep(3)
        cpu0, _ = _cpu_s(proc.pid)
        rss_idle = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < window:
            rss_idle.append(_rss_mb(proc.pid))
            time.sleep(0.5)
        cpu1, _ = _cpu_s(proc.pid)
        idle_cpu = (cpu1 - cpu0) / (time.monotonic() - t0) * 100

        long = media_for(5.0)
        first = datetime.now(UTC) + timedelta(seconds=3)
        count = int(window // 5) + 2
        starts = [first + timedelta(seconds=5.2 * n) for n in range(count)]
        server.publish(topics.plan(site), plan(site, 2, starts, long), retain=True)
        time.sleep(3.5)
        cpu0, child0 = _cpu_s(proc.pid)
        kids0 = {c: _cpu_s(c)[0] for c in _children(proc.pid)}  # the kept-running mpv
        rss_play, rss_mpv = [], []
        t0 = time.monotonic()
        while time.monotonic() - t0 < window:
            rss_play.append(_rss_mb(proc.pid))
            rss_mpv += [_rss_mb(c) for c in _children(proc.pid)]
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        cpu1, child1 = _cpu_s(proc.pid)
        kids1 = {c: _cpu_s(c)[0] for c in _children(proc.pid)}
        play_cpu = (cpu1 - cpu0) / elapsed * 100
        live = sum(kids1[c] - kids0.get(c, 0.0) for c in kids1)
        mpv_cpu = (live + child1 - child0) / elapsed * 100
        _stop(proc)
        lines += [
            f"Footprint of one agent (default player mpv, `--ao=null`; {window:.0f} s windows):",
            "",
            "| state | agent RSS (median / max) | agent CPU | mpv RSS | mpv CPU |",
            "| --- | --- | --- | --- | --- |",
            f"| idle (connected, nothing due) | {_pct(rss_idle, 50):.1f} / {max(rss_idle):.1f} MB"
            f" | {idle_cpu:.2f} % | – | – |",
            f"| playing (5 s items back to back) | {_pct(rss_play, 50):.1f} / "
            f"{max(rss_play):.1f} MB | {play_cpu:.2f} % of one CPU | "
            f"{(_pct(rss_mpv, 50) if rss_mpv else 0):.1f} MB | {mpv_cpu:.1f} % of one CPU |",
            "",
        ]
    finally:
        server.close()
        httpd.shutdown()
        broker.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    print(run(args.agents, args.items, args.window))


if __name__ == "__main__":
    main()
