"""Live latency: mouth to speaker on loopback, with the bare streaming path beside it.

A "microphone" makes sound in real time: ffmpeg ``-re`` generates silence with a 0.4 s tone
burst every ``--period`` seconds and encodes it as WebM/Opus in 250 ms clusters, as a browser's
MediaRecorder with a 250 ms timeslice sends it. The instant a burst is generated is known (the
generator's start + the burst's time in the signal). It is measured twice in one run:

1. **bare**: the same WebM into the session feed (ffmpeg copies it to Ogg for Icecast), one
   listener reading Icecast with the agents' own live player (``FilePlayer.play_live``): the
   streaming server's own latency, no web, no MQTT, no agents;
2. **full**: the WebM over the web app's WebSocket (a session started as the page does: login,
   POST /live/start), the signed ``live`` command over a private Mosquitto to ``--agents`` real
   agent processes (file player), each writing what it plays into a WAV.

The burst's onset is found in each listener's growing WAV (polled every 5 ms); latency = the
wall time it appears there − the wall time it was generated. Bursts heard in the first
``--warmup`` seconds of each phase are left out (players joining).

    .venv/bin/python -m bench.live_bench --agents 20 --seconds 40
"""

from __future__ import annotations

import argparse
import array
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BURST_S = 0.4
LOUD = 4000  # a 10 ms block louder than this (of 16383 for the burst) is the tone
QUIET_BLOCKS = 20  # 200 ms of quiet before an onset counts


def generator(seconds: float, period: float) -> subprocess.Popen[bytes]:
    expr = f"if(lt(mod(t\\,{period})\\,{BURST_S})\\,0.5*sin(2*PI*880*t)\\,0)"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"]
    cmd += ["-i", f"aevalsrc={expr}:s=48000:d={seconds}", "-ac", "1", "-c:a", "libopus"]
    cmd += ["-b:a", "48k", "-cluster_time_limit", "250", "-live", "1", "-flush_packets", "1"]
    cmd += ["-f", "webm", "pipe:1"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


def pump(proc: subprocess.Popen[bytes], send: object) -> threading.Thread:
    """Send the generator's output as it comes (as MediaRecorder's chunks)."""
    assert proc.stdout is not None
    out = proc.stdout

    def run() -> None:
        while True:
            data = os.read(out.fileno(), 65536)
            if not data:
                return
            try:
                send(data)  # type: ignore[operator]
            except Exception:  # the session ended first
                return

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@dataclass
class Listener:
    """Follows one player's growing WAV (``out_dir/.*.part``) and notes each burst's onset."""

    out_dir: Path
    path: Path | None = None
    offset: int = 0
    quiet: int = QUIET_BLOCKS
    onsets: list[float] = field(default_factory=list)
    carry: bytes = b""

    def poll(self, now: float) -> None:
        if self.path is None:
            parts = sorted(self.out_dir.glob(".*.part")) if self.out_dir.exists() else []
            if not parts:
                return
            self.path = parts[0]
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        if self.offset == 0:
            at = data.find(b"data")
            if at < 0 or len(data) < at + 8:
                return
            data = data[at + 8 :]
            self.offset = at + 8
        self.offset += len(data)
        data = self.carry + data
        usable = len(data) - len(data) % 960  # 10 ms blocks of 16-bit mono at 48 kHz
        self.carry = data[usable:]
        samples = array.array("h", data[:usable])
        for i in range(0, len(samples), 480):
            block = samples[i : i + 480]
            loud = max(max(block), -min(block)) > LOUD
            if loud and self.quiet >= QUIET_BLOCKS:
                self.onsets.append(now)
            self.quiet = 0 if loud else self.quiet + 1


def latencies(onsets: list[float], t0: float, period: float, warmup: float) -> list[float]:
    """Each onset against the latest burst generated before it (unambiguous below ``period``)."""
    out = []
    for at in onsets:
        k = int((at - t0) // period)
        if k < 0 or k * period < warmup:
            continue
        out.append(at - (t0 + k * period))
    return out


def follow(listeners: list[Listener], stop: threading.Event) -> threading.Thread:
    def run() -> None:
        while not stop.is_set():
            now = time.monotonic()
            for listener in listeners:
                listener.poll(now)
            stop.wait(0.005)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | – | – | – | – | 0 |"
    ms = [v * 1000 for v in values]
    return (
        f"| {name} | {statistics.median(ms):.0f} ms | {pct(ms, 0.9):.0f} ms | "
        f"{pct(ms, 0.99):.0f} ms | {max(ms):.0f} ms | {len(ms)} |"
    )


def bare(icecast: object, work: Path, seconds: float, period: float, warmup: float) -> list[float]:
    from broadcaster.agent.players import FilePlayer
    from broadcaster.live.feed import LiveFeed

    mount = "/live/bench-bare.ogg"
    icecast.listeners.allow("bare", "bare-token")  # type: ignore[attr-defined]
    feed = LiveFeed(icecast.source_url(mount), work / "bare.ogg")  # type: ignore[attr-defined]
    feed.start()
    gen = generator(seconds, period)
    t0 = time.monotonic()
    pump(gen, feed.write)
    out = work / "bare-out"
    player = FilePlayer(out)
    stop = threading.Event()
    url = icecast.url.replace("http://", "http://bare:bare-token@") + mount  # type: ignore[attr-defined]

    def listen() -> None:
        time.sleep(1.0)  # the mount is up
        try:
            player.play_live(url, stop, stall_s=5, max_s=seconds + 5, label="bare")
        except Exception as exc:
            print(f"bare listener: {exc}")

    threading.Thread(target=listen, daemon=True).start()
    listener = Listener(out)
    done = threading.Event()
    follower = follow([listener], done)
    gen.wait()
    time.sleep(2)
    stop.set()
    done.set()
    follower.join()
    feed.close()
    return latencies(listener.onsets, t0, period, warmup)


def full(
    agents: int, work: Path, seconds: float, period: float, warmup: float, stops: list[float]
) -> tuple[list[float], list[float]]:
    """Latencies over every agent, and each agent's median; ``stops`` gets, per agent, the
    time from "Dừng" to its player stopped."""
    from broadcaster.broker import PrivateBroker
    from broadcaster.config import Settings
    from broadcaster.db import make_engine, session_factory, upgrade
    from broadcaster.live.icecast import PrivateIcecast
    from tests.support.live_client import LiveClient
    from tests.support.live_site import live_site

    settings = Settings.load(
        env={},
        database_url=f"sqlite:///{work}/db.sqlite3",
        media_dir=str(work / "media"),
        signing_key_file=str(work / "signing-key.pem"),
        secret_key="bench-session-signing-key-0123456789abcdef",
        tts_engine="espeak",
    )
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    broker = PrivateBroker(work / "broker")
    icecast = PrivateIcecast(source_timeout_s=5)
    icecast.start()
    try:
        db = session_factory(engine)
        with live_site(settings, db, broker, icecast, work, agents=agents, stall_s=5) as site:
            client = LiveClient(site.base, "pheduyet", "pheduyet123")
            started = client.start(["thon-1"], priority="emergency")
            ws = client.socket(started["audio_url"])
            gen = generator(seconds, period)
            t0 = time.monotonic()
            pump(gen, ws.send)
            listeners = [Listener(Path(a.config.output_dir)) for a in site.agents]
            done = threading.Event()
            follower = follow(listeners, done)
            gen.wait()
            time.sleep(2)
            done.set()
            follower.join()
            outs = [Path(a.config.output_dir) for a in site.agents]
            asked = time.monotonic()
            client.stop(started["stop_url"])  # "Dừng": the stop command, then the socket closes
            silent: dict[int, float] = {}
            while len(silent) < len(outs) and time.monotonic() - asked < 10:
                for n, out in enumerate(outs):
                    if n not in silent and not list(out.glob(".*.part")):
                        silent[n] = time.monotonic() - asked  # its player has stopped
                time.sleep(0.005)
            ws.close()
            stops.extend(silent.values())
            print(f"stop: {len(silent)} of {len(outs)} players stopped within 10 s")
            per_agent = [latencies(x.onsets, t0, period, warmup) for x in listeners]
            heard = sum(1 for x in per_agent if x)
            print(f"full: {heard} of {agents} agents heard the bursts")
            flat = [v for x in per_agent for v in x]
            medians = [statistics.median(x) for x in per_agent if x]
            return flat, medians
    finally:
        icecast.stop()
        broker.stop()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--period", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from broadcaster.live.icecast import PrivateIcecast

    work = Path(tempfile.mkdtemp(prefix="live-bench-"))
    try:
        icecast = PrivateIcecast(source_timeout_s=5)
        icecast.start()
        try:
            bare_lat = bare(icecast, work / "bare", args.seconds, args.period, args.warmup)
        finally:
            icecast.stop()
        stops: list[float] = []
        full_lat, medians = full(
            args.agents, work / "full", args.seconds, args.period, args.warmup, stops
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"\n{platform.node()}: {os.cpu_count()} cores, load average {load:.1f}")
    print("| path | p50 | p90 | p99 | max | bursts |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row("bare: feed → Icecast → one listener (the agents' player)", bare_lat))
    print(
        row(f"full: WebSocket → web → Icecast, command over MQTT → {args.agents} agents", full_lat)
    )
    print(
        row('"Dừng" → the player stopped, per agent (target ≤ 2 s)', stops).replace(
            f"| {len(stops)} |", f"| {len(stops)} agents |"
        )
    )
    if medians:
        print(
            f"agents' own medians: {min(medians) * 1000:.0f}–{max(medians) * 1000:.0f} ms; "
            f"p99 target ≤ 3000 ms: {'met' if full_lat and pct(full_lat, 0.99) <= 3 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
