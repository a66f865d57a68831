"""Fan-out of an emergency command to N simulated agents on loopback, against raw Mosquitto
fan-out of a message of the same size to N plain paho subscribers, in the same run.

    .venv/bin/python -m bench.fanout_bench [--agents 100 1000] [--rounds 5] [--workers 4]
        [--broker mosquitto|nats] [--timeout 60] [--connect-rate PER_S]
        [--nats-mqtt KEY=JSON ...] [--qos0 keys plan ack] [--agent-qos 0|1] [--keep]

``--broker nats``: a 3-node NATS cluster (``broadcaster.nats_cluster``, JetStream, MQTT 3.1.1)
instead of one Mosquitto; the server publishes through node 1 and the agents (and the raw
subscribers) are spread over the three nodes, so most messages cross a cluster route.
``--nats-mqtt`` overrides a setting of the nodes' mqtt block; ``--qos0`` has the agents
subscribe to those topics at QoS 0 (NATS then makes no JetStream consumer for them);
``--agent-qos 0`` runs the agents with ``mqtt_qos = 0`` (every subscription and every event at
QoS 0, what ``sites provision`` writes for NATS) and the raw subscribers likewise (subscription
and echo at QoS 0; the server still publishes at QoS 1);
``--connect-rate`` connects the clients gradually instead of all at once.

Like the agent's link, a client sends a subscription the broker refuses again (2, 4, 8… s) and
connects again after 1, 2, 4… 30 s when the broker drops it; answers still missing after
``--timeout`` are counted, not waited for.

One private Mosquitto (passwords + per-agent ACL, as in production). N agents in one zone, so
one publish to the zone's command topic reaches all of them. Worker processes host the agents
on one selector loop each (paho's external-loop API, no thread per client).

A simulated agent is the real agent minus its threads and its sound card: an
``broadcaster.agent.agent.Agent``, opened but not started, whose ``handle_message`` runs the real decision path (Ed25519
verify, schema, target, replay by id and seq, expiry, the ``received`` event and the command
stored in its own SQLite store), then the real ``Runner`` (queue, media re-hash from its cache,
``started`` event in SQLite with the ``playing`` marker) with a player that returns at once.
Each agent's store is on tmpfs (/dev/shm): a Pi has its own card; 1,000 agents fsyncing one
disk would measure that disk.

Measured per agent: publish → "started" decided on the agent (one way) and publish → the
"started" event received by the server's subscriber (round trip). Baseline: publish → a raw
subscriber receives (one way) and → the server receives its same-size echo (round trip).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import selectors
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ZONE = "thon-bench"
RAW_TOPIC = "loa/v1/bench/raw"
MEDIA_BYTES = 240_000  # 30 s at 64 kbit/s


# -- worker side ----------------------------------------------------------------------------------


class _NoPlayer:
    def play(self, path: Path, stop: threading.Event, *, label: str = "") -> str:
        return "finished"


class _Link:
    """Stands in for MqttLink: events go out on the worker's paho client."""

    def __init__(self, client: mqtt.Client, topic: str, on_started: Any, qos: int) -> None:
        self.client = client
        self.topic = topic
        self.qos = qos  # the agent's mqtt_qos, as MqttLink
        self.on_started = on_started
        self.arrived = 0.0  # when the command reached this agent's client

    def publish_event(self, event: Any) -> bool:
        if event.kind == "started":
            self.on_started(event, self.arrived)
        body = json.dumps(event.to_dict(), separators=(",", ":")).encode()
        self.client.publish(self.topic, body, qos=self.qos)
        return True

    def publish_status(self, state: str) -> None:
        pass


PROTOCOL = {"mosquitto": MQTTProtocolVersion.MQTTv5, "nats": MQTTProtocolVersion.MQTTv311}
_protocol = [MQTTProtocolVersion.MQTTv5]  # set per run (and inherited by forked workers)


def _client(client_id: str, user: str, password: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=_protocol[0])
    c.username_pw_set(user, password)
    return c


def _make_agent(
    site: str,
    password: str,
    public_b64: str,
    port: int,
    root: Path,
    media: Path,
    sha: str,
    on_started: Any,
    qos: int = 1,
) -> tuple[Any, mqtt.Client, list[str]]:
    from broadcaster.agent.agent import Agent
    from broadcaster.agent.config import AgentConfig
    from broadcaster.wire.topics import Topics

    state = root / site
    (state / "media").mkdir(parents=True)
    os.link(media, state / "media" / f"{sha}.mp3")
    config = AgentConfig(
        site=site,
        zones=[ZONE],
        state_dir=str(state),
        trusted_keys=[public_b64],
        mqtt_port=port,
        mqtt_username=f"agent-{site}",
        mqtt_password=password,
        player="file",
        output_dir=str(state / "out"),
        mqtt_qos=qos,
    )
    agent = Agent(config, player=_NoPlayer())  # type: ignore[arg-type]
    parts = agent.open()  # the runner's and prefetcher's threads are not started
    runner = parts.runner
    client = _client(f"agent-{site}", f"agent-{site}", password)
    link = _Link(client, Topics().events(site), on_started, config.mqtt_qos)
    parts.reporter.connect(link)

    topics = Topics()
    subs = [
        topics.keys(),
        topics.plan(site),
        topics.site_cmd(site),
        topics.ack(site),
        topics.zone_cmd(ZONE),
    ]

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        link.arrived = time.monotonic()
        agent.handle_message(msg.topic, bytes(msg.payload))
        runner.run_due()  # what the runner thread does when woken

    client.on_message = on_message
    return agent, client, subs


def _worker(spec: dict[str, Any], conn: Connection) -> None:
    """Host simulated agents (mode "agent") or raw subscribers (mode "raw") until told to stop;
    send back (site, round, t_received_or_started) samples."""
    mode = spec["mode"]
    samples: list[tuple[str, str, float, float]] = []  # site, key, t, processing seconds
    clients: list[mqtt.Client] = []
    subscribed: set[int] = set()  # clients with every subscription granted
    lost: list[tuple[float, mqtt.Client]] = []  # clients the broker dropped: reconnect later
    drops = [0]
    root = Path(spec["root"])
    sending: dict[tuple[int, int | None], list[str]] = {}  # (client, SUBSCRIBE id) -> its filters
    retry: list[tuple[float, mqtt.Client, list[str]]] = []  # refused filters, sent again later
    refused = [0]
    attempts: dict[int, int] = {}

    qos0 = set(spec["qos0"])  # filters subscribed at QoS 0 (--qos0: no JetStream consumer)
    qos = spec["agent_qos"]  # --agent-qos: every subscription and answer at this QoS

    def subscribe(c: mqtt.Client, filters: list[str]) -> None:
        _, mid = c.subscribe([(f, 0 if f.rsplit("/", 1)[-1] in qos0 else qos) for f in filters])
        sending[(id(c), mid)] = filters

    def on_subscribe(c: mqtt.Client, _u: Any, mid: int, codes: list[Any], *_: Any) -> None:
        # NATS refuses a subscription (SUBACK 0x80) when it cannot create the session's
        # JetStream consumer in time; the product's link subscribes again (broadcaster.mqtt)
        filters = sending.pop((id(c), mid), [])
        failed = [f for f, code in zip(filters, codes, strict=False) if code.is_failure]
        if failed:
            refused[0] += len(failed)
            attempts[id(c)] = attempts.get(id(c), 0) + 1
            delay = min(30.0, 2.0 ** attempts[id(c)]) * random.uniform(0.5, 1.0)
            retry.append((time.monotonic() + delay, c, failed))
            retry.sort(key=lambda r: r[0])
        else:
            subscribed.add(id(c))

    backoff: dict[int, float] = {}  # client -> its next reconnection delay

    def on_disconnect(c: mqtt.Client, *_: Any) -> None:
        # the broker dropped it (NATS does when it cannot load or store the session in 4 s):
        # back after 1, 2, 4… 30 s, as paho's reconnection in the agent's link
        if not stopping:
            drops[0] += 1
            delay = backoff.get(id(c), 1.0)
            backoff[id(c)] = min(30.0, delay * 2)
            lost.append((time.monotonic() + delay, c))
            lost.sort(key=lambda r: r[0])

    for site, password in spec["agents"]:
        if mode == "agent":

            def started(event: Any, arrived: float, site: str = site) -> None:
                now = time.monotonic()
                samples.append((site, event.command or "", now, now - arrived))

            _, client, filters = _make_agent(
                site,
                password,
                spec["public"],
                spec["port"],
                root,
                Path(spec["media"]),
                spec["sha"],
                started,
                qos,
            )
        else:
            client = _client(f"raw-{site}", spec["server_user"], spec["server_password"])
            echo_topic = f"loa/v1/bench/echo/{site}"
            filters = [RAW_TOPIC]

            def on_message(
                c: mqtt.Client,
                _u: Any,
                msg: mqtt.MQTTMessage,
                site: str = site,
                echo_topic: str = echo_topic,
            ) -> None:
                samples.append((site, msg.payload[:36].decode(), time.monotonic(), 0.0))
                c.publish(echo_topic, msg.payload, qos=qos)

            client.on_message = on_message

        def on_connect(
            c: mqtt.Client, _u: Any, _f: Any, code: Any, *_: Any, filters: list[str] = filters
        ) -> None:
            if not code.is_failure:
                backoff.pop(id(c), None)
                subscribe(c, filters)

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        clients.append(client)

    sel = selectors.DefaultSelector()
    # raw clients log in as the server: its listener (an agent's client id is its name)
    ports = spec["ports"] if spec["mode"] == "agent" else spec["server_ports"]
    connected: list[mqtt.Client] = []
    registered: dict[int, Any] = {}  # client -> the socket registered for it
    stopping = False
    t_start = time.monotonic()
    ready_sent = False
    last_misc = time.monotonic()
    while True:
        # connect at spec["rate"] clients a second (0: all at once)
        due = (
            len(clients)
            if not spec["rate"]
            else int((time.monotonic() - t_start) * spec["rate"]) + 1
        )
        while len(connected) < min(due, len(clients)):
            c = clients[len(connected)]
            c.connect("127.0.0.1", ports[len(connected) % len(ports)], keepalive=60)
            connected.append(c)
        now = time.monotonic()
        while lost and lost[0][0] <= now:
            _, c = lost.pop(0)
            try:
                c.reconnect()
            except OSError:
                on_disconnect(c)
        # a dropped client's closed socket may have left its number to another client's new
        # one: unregister every stale socket before registering any new one
        fresh = []
        for c in connected:
            sock = c.socket()
            old = registered.get(id(c))
            if old is not sock:  # connected, reconnected or dropped since the last turn
                if old is not None:
                    sel.unregister(old)
                    del registered[id(c)]
                if sock is not None:
                    fresh.append((c, sock))
        for c, sock in fresh:
            sel.register(sock, selectors.EVENT_READ, c)
            registered[id(c)] = sock
        for c in connected:
            if id(c) in registered and c.want_write():
                c.loop_write()
        for key, _ in sel.select(timeout=0.005):
            key.data.loop_read()
        now = time.monotonic()
        while retry and retry[0][0] <= now:
            _, c, filters = retry.pop(0)
            subscribe(c, filters)
        if now - last_misc > 1.0:
            for c in connected:
                c.loop_misc()
            last_misc = now
        if not ready_sent and len(subscribed) == len(clients):
            conn.send(("ready", refused[0]))
            ready_sent = True
        if conn.poll():
            if conn.recv() == "stop":
                break
    stopping = True
    conn.send((samples, drops[0]))
    for c in clients:
        c.disconnect()
        try:
            c.loop_write()
        except Exception:  # noqa: BLE001 - shutting down
            pass


# -- main side --------------------------------------------------------------------------------------


@dataclass
class Result:
    n: int
    mode: str
    one_way_ms: list[float]
    round_trip_ms: list[float]
    last_ms: list[float]  # per round: time until the last agent
    processing_ms: list[float]  # agents: command received by the client → started decided
    size: int  # bytes of the message fanned out
    ready_s: float  # workers started → every client connected with its subscriptions granted
    refused: int  # subscriptions the broker refused and the clients sent again
    broker_cpu: float  # CPUs the broker's processes used during the rounds (1.0 = one core)
    missing: int  # answers (echo or `started`) not at the server within the timeout, all rounds
    drops: int  # connections the broker closed (the client connected again a second later)


def _broker_pids(broker: Any) -> list[int]:
    procs = [n.process for n in broker.nodes] if hasattr(broker, "nodes") else [broker.process]
    return [p.pid for p in procs if p is not None]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class _Server:
    """The server's paho client: publishes, and timestamps what comes back."""

    def __init__(self, port: int, password: str) -> None:
        from broadcaster.broker import SERVER_USER

        self.received: dict[str, list[tuple[str, float]]] = {}
        self.lock = threading.Lock()
        self.client = _client("bench-server", SERVER_USER, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([("loa/v1/sites/+/events", 1), ("loa/v1/bench/echo/+", 1)])
        time.sleep(0.5)

    def _on_message(self, c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        t = time.monotonic()
        if msg.topic.startswith("loa/v1/bench/echo/"):
            key, site = msg.payload[:36].decode(), msg.topic.rsplit("/", 1)[1]
        else:
            data = json.loads(msg.payload)
            if data["kind"] != "started":
                return
            key, site = data.get("command") or "", data["site"]
        with self.lock:
            self.received.setdefault(key, []).append((site, t))

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        deadline = time.monotonic() + 30
        while not self.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)  # the broker dropped the server's connection: paho reconnects
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def wait(self, key: str, n: int, timeout: float = 60.0) -> list[tuple[str, float]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = list(self.received.get(key, []))
            if len(got) >= n:
                return got
            time.sleep(0.002)
        return got  # not all of them: the caller counts the missing

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(
    n: int,
    rounds: int,
    workers: int,
    kind: str = "mosquitto",
    nats_mqtt: dict[str, Any] | None = None,
    keep: bool = False,
    connect_rate: float = 0.0,
    timeout: float = 60.0,
    qos0: tuple[str, ...] = (),
    agent_qos: int = 1,
) -> list[Result]:
    from broadcaster.broker import SERVER_USER, PrivateBroker
    from broadcaster.commands import CommandPublisher, play_now_item
    from broadcaster.nats_cluster import NatsCluster
    from broadcaster.wire.plan import Media
    from broadcaster.wire.signing import Signer
    from broadcaster.wire.topics import Topics

    tmp = Path(
        tempfile.mkdtemp(prefix="fanout-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    )
    broker: PrivateBroker | NatsCluster | None = None
    try:
        _protocol[0] = PROTOCOL[kind]
        if kind == "nats":
            broker = NatsCluster(tmp / "broker")
            broker.mqtt.update(nats_mqtt or {})
        else:
            broker = PrivateBroker(tmp / "broker")
        sites = [f"site-{i:04d}" for i in range(n)]
        for site in sites:
            broker.add_agent(site, [ZONE])
        broker.start()
        if isinstance(broker, NatsCluster):
            ports = server_ports = [node.mqtt_port for node in broker.nodes]
        else:  # Mosquitto: the agents' listener and the server's
            ports, server_ports = [broker.port], [broker.server_port]
        signer = Signer.generate()
        media_path = tmp / "emergency.mp3"
        media_path.write_bytes(os.urandom(MEDIA_BYTES))
        import hashlib

        sha = hashlib.sha256(media_path.read_bytes()).hexdigest()
        media = Media(sha, f"http://127.0.0.1:9/media/{sha}.mp3", MEDIA_BYTES, 30_000)
        server = _Server(server_ports[0], broker.server_password)
        commands = CommandPublisher(signer, server, Topics())
        accounts = [(a.site, a.password) for a in broker.agents]
        # the exact size of the signed emergency command, for the raw baseline
        from broadcaster.publisher import MemoryPublisher

        probe = MemoryPublisher()
        CommandPublisher(signer, probe, Topics()).play_now(
            zones=[ZONE],
            item=play_now_item(
                start=datetime.now(UTC), announcement_id=1, title="Khẩn cấp", media=media
            ),
            reason="bench",
        )
        command_size = len(probe.sent[0][1])
        results = []
        for mode in ("raw", "agent"):
            chunks = [accounts[i::workers] for i in range(workers)]
            pipes, procs = [], []
            t_spawn = time.monotonic()
            for w, chunk in enumerate(chunks):
                parent, child = mp.Pipe()
                spec = {
                    "mode": mode,
                    "agents": chunk,
                    "port": ports[0],
                    "ports": ports[w % len(ports) :] + ports[: w % len(ports)],
                    "server_ports": server_ports,
                    "public": signer.public_b64,
                    "root": str(tmp / f"{mode}-{w}"),
                    "media": str(media_path),
                    "sha": sha,
                    "server_user": SERVER_USER,
                    "server_password": broker.server_password,
                    "rate": connect_rate / workers,
                    "qos0": qos0,
                    "agent_qos": agent_qos,
                }
                proc = mp.Process(target=_worker, args=(spec, child), daemon=True)
                proc.start()
                pipes.append(parent)
                procs.append(proc)
            refused = 0
            for p in pipes:
                if not p.poll(max(0.0, t_spawn + 300 - time.monotonic())):
                    raise RuntimeError("a worker did not get ready")
                word, count = p.recv()
                assert word == "ready"
                refused += count
            ready_s = time.monotonic() - t_spawn
            time.sleep(0.5)
            cpu0, wall0 = _cpu_seconds(_broker_pids(broker)), time.monotonic()
            sent: dict[str, float] = {}
            last: list[float] = []
            missing = 0
            for r in range(rounds):
                if mode == "raw":
                    key = f"{r:036d}"
                    payload = key.encode() + b"x" * max(0, command_size - 36)
                    t0 = time.monotonic()
                    server.publish(RAW_TOPIC, payload)
                else:
                    item = play_now_item(
                        start=datetime.now(UTC), announcement_id=1, title="Khẩn cấp", media=media
                    )
                    t0 = time.monotonic()
                    key = commands.play_now(zones=[ZONE], item=item, reason="bench").id
                sent[key] = t0
                got = server.wait(key, n, timeout)
                missing += n - len(got)
                last.append((max((t for _, t in got), default=t0 + timeout) - t0) * 1000)
                time.sleep(0.3)
            broker_cpu = (_cpu_seconds(_broker_pids(broker)) - cpu0) / (time.monotonic() - wall0)
            for p in pipes:
                p.send("stop")
            replies = [p.recv() for p in pipes]
            worker_samples = [s for samples, _ in replies for s in samples]
            drops = sum(d for _, d in replies)
            for proc in procs:
                proc.join(10)
            one_way = [(t - sent[k]) * 1000 for _, k, t, _ in worker_samples if k in sent]
            processing = [d * 1000 for _, k, _, d in worker_samples if k in sent]
            trip = [
                (t - sent[k]) * 1000
                for k, answers in server.received.items()
                if k in sent
                for _, t in answers
            ]
            results.append(
                Result(
                    n,
                    mode,
                    one_way,
                    trip,
                    last,
                    processing,
                    command_size,
                    ready_s,
                    refused,
                    broker_cpu,
                    missing,
                    drops,
                )
            )
        server.close()
        return results
    finally:
        if broker is not None:
            broker.stop()
        if keep:
            print(f"kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report(
    results: list[Result],
    rounds: int,
    workers: int,
    kind: str = "mosquitto",
    nats_mqtt: dict[str, Any] | None = None,
    timeout: float = 60.0,
) -> str:
    where = (
        f"{_mosquitto_version()}"
        if kind == "mosquitto"
        else f"a 3-node NATS cluster ({_nats_version()}, MQTT 3.1.1, agents over the 3 nodes,"
        f" mqtt settings {json.dumps(_nats_settings(nats_mqtt))})"
    )
    lines = [
        f"## Emergency fan-out to N agents on loopback ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Command: `.venv/bin/python -m bench.fanout_bench {' '.join(sys.argv[1:])}` ·"
        f" {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{where} · {rounds} rounds per row, agents spread over {workers} "
        f"worker processes, stores on tmpfs · load average at the end "
        f"{os.getloadavg()[0]:.1f} (1 min) · both paths fan out {results[0].size} bytes "
        "(the signed emergency command; QoS 1).",
        "",
        "| N | path | one way p50 | p99 | max | round trip p50 | p99 | max | last agent, mean of rounds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        label = (
            f"raw {'Mosquitto' if kind == 'mosquitto' else 'NATS'}: publish → subscriber;"
            " → its echo at the server"
            if r.mode == "raw"
            else "agents: publish → `started` decided; → `started` event at the server"
        )
        lines.append(
            f"| {r.n} | {label} | {_pct(r.one_way_ms, 50):.1f} ms | {_pct(r.one_way_ms, 99):.1f} ms"
            f" | {max(r.one_way_ms):.1f} ms | {_pct(r.round_trip_ms, 50):.1f} ms"
            f" | {_pct(r.round_trip_ms, 99):.1f} ms | {max(r.round_trip_ms):.1f} ms"
            f" | {statistics.mean(r.last_ms):.1f} ms |"
        )
    lines += [
        "",
        "Clients connected with every subscription granted (workers started → ready):",
        "",
    ]
    for r in results:
        lines.append(
            f"- N={r.n}, {r.mode}: {r.ready_s:.1f} s; {r.refused} subscriptions refused by"
            f" the broker and sent again; the broker used {r.broker_cpu:.2f} CPUs during the"
            f" rounds; {r.missing} of {r.n * rounds} answers missing after {timeout:.0f} s;"
            f" {r.drops} connections dropped by the broker"
        )
    lines += [
        "",
        "Per agent, command received by its MQTT client → `started` decided (verify, checks,"
        " SQLite commits, media re-hash, runner):",
        "",
    ]
    for r in results:
        if r.mode == "agent":
            lines.append(
                f"- N={r.n}: p50 {_pct(r.processing_ms, 50):.2f} ms, "
                f"p99 {_pct(r.processing_ms, 99):.2f} ms"
            )
    return "\n".join(lines) + "\n"


def _nats_settings(overrides: dict[str, Any] | None) -> dict[str, Any]:
    from broadcaster.nats_cluster import MQTT_SETTINGS

    return {**MQTT_SETTINGS, **(overrides or {})}


def _mosquitto_version() -> str:
    import subprocess

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "mosquitto"


def _nats_version() -> str:
    import subprocess

    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "nats-server"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--broker", choices=sorted(PROTOCOL), default="mosquitto")
    parser.add_argument(
        "--nats-mqtt",
        metavar="KEY=JSON",
        action="append",
        default=[],
        help="override one setting of the NATS nodes' mqtt block (e.g. consumer_replicas=3)",
    )
    parser.add_argument(
        "--connect-rate",
        type=float,
        default=0.0,
        metavar="PER_S",
        help="clients connecting a second, over all workers (default: all at once)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every answer of a round"
    )
    parser.add_argument(
        "--qos0",
        nargs="*",
        default=[],
        choices=["keys", "plan", "ack"],
        help="the agents subscribe to these (retained or resent) topics at QoS 0, not 1",
    )
    parser.add_argument(
        "--agent-qos",
        type=int,
        choices=[0, 1],
        default=1,
        help="the agents' mqtt_qos (0: what `sites provision` writes for NATS) and the raw"
        " subscribers' QoS",
    )
    parser.add_argument("--keep", action="store_true", help="keep the brokers' files and logs")
    args = parser.parse_args()
    nats_mqtt = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.nats_mqtt)}
    results: list[Result] = []
    for n in args.agents:
        results += run(
            n,
            args.rounds,
            args.workers,
            args.broker,
            nats_mqtt,
            args.keep,
            args.connect_rate,
            args.timeout,
            tuple(args.qos0),
            args.agent_qos,
        )
        print(f"N={n} done", flush=True)
    print(report(results, args.rounds, args.workers, args.broker, nats_mqtt, args.timeout))


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
