"""Benchmark: ingest scale-out on PostgreSQL with real ``broadcaster ingest`` worker processes.

Run: PYTHONPATH=$PWD .venv/bin/python -m bench.ingest_scale_bench events [--workers 1,2]
         [--sites 1000] [--events 10] [--publishers 2] [--per-message 1]
     PYTHONPATH=$PWD .venv/bin/python -m bench.ingest_scale_bench heartbeats [--sites 5000]
         [--interval 60] [--compress 10] [--periods 3]

A private Mosquitto (``PrivateBroker``), a fresh PostgreSQL schema, N ``broadcaster ingest``
processes sharing the group ``ingest`` (``$share/ingest/…/sites/+/events``, clean sessions, as
the systemd template runs them) and publisher processes that simulate many sites: each publisher
holds one connection (the server's account, which may write every site's topics: a thousand
agent connections would cost this 2-core box more than ingest does), publishes its sites' events
interleaved (event 1 of every site, then event 2 …) at QoS 1, and listens to the sites' acks.
``--per-message K`` (default 1, today's figures): each message carries K consecutive events of one
site, an ``events`` batch as an agent's backlog flush sends it (``broadcaster.wire.batches.pack``:
at most 50 events and 64 KiB a message); messages interleave across sites the same way.

``events``: timed from the first publish until every event is stored (counted in the database)
and until every (site, outbox) has been acked up to its last seq (the publishers check that ack's
signature). The workers' CPU is read from /proc (user + system seconds), so the figure per core
holds on a machine shared with other work. Bare parts in the same run, on a fresh schema: the
same rows inserted into ``playback_events`` with executemany (500 a statement) and with COPY.

``heartbeats``: every site publishes a retained online status (with health fields) once per
``interval / compress`` seconds, each at its own phase, for ``periods`` periods. Reported: the
ingest worker's CPU seconds per status until every site's last heartbeat is applied (so a worker
that falls behind pays for catching up), and that times the real rate (sites / interval) as a
share of one CPU (the CPU per heartbeat is what it is; compressing only shortens the run).
Bare parts beside it: a plain paho subscriber to the same status topic (receiving costs every
MQTT client that much), and one executemany UPDATE of every site's row.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import bindparam, func, insert, select, text, update

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.ingest import _event_row
from broadcaster.models import PlaybackEvent, Site
from broadcaster.wire.batches import pack
from broadcaster.wire.messages import Event, Status
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]
TOPICS = Topics()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def site_ids(n: int) -> list[str]:
    return [f"site-{i:05d}" for i in range(n)]


def make_events(site: str, per_site: int) -> list[Event]:
    out = []
    for n in range(per_site):
        out.append(
            Event(
                str(uuid.uuid4()),
                site,
                "ob1",
                n + 1,
                "started" if n % 2 == 0 else "finished",
                T0 + timedelta(seconds=n),
                f"s{n // 2}-{int(T0.timestamp()) + n // 2 * 600}",
                1,
                T0 + timedelta(minutes=10 * (n // 2)),
            )  # fmt: skip
        )
    return out


@dataclass
class Database:
    url: str
    schema: str

    @classmethod
    def fresh(cls, sites: list[str], tag: str) -> Database:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG}?options=-csearch_path%3D{schema}&application_name={tag}"
        upgrade(url)
        engine = make_engine(url)
        with session_factory(engine)() as s, s.begin():
            s.add_all(Site(id=sid, name=sid) for sid in sites)  # placed in the one commune
        engine.dispose()
        return cls(url, schema)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


def backend_pids(tag: str) -> list[int]:
    """PostgreSQL backends serving connections named ``tag`` (the workers' pools)."""
    import psycopg

    with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (tag,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def pg_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            pass
    return total


class Workers:
    """N ``broadcaster ingest`` processes in the group ``ingest``."""

    def __init__(
        self, n: int, broker: PrivateBroker, url: str, tmp: Path, code: Path = ROOT
    ) -> None:
        key = tmp / "signing-key.pem"
        if not key.exists():
            Signer.generate().save(key)
        self.key = key
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
        env.update(
            PYTHONPATH=str(code),
            BROADCASTER_DATABASE_URL=url,
            BROADCASTER_MQTT_PORT=str(broker.server_port),
            BROADCASTER_MQTT_USERNAME=SERVER_USER,
            BROADCASTER_MQTT_PASSWORD=broker.server_password,
            BROADCASTER_SIGNING_KEY_FILE=str(key),
            BROADCASTER_MEDIA_DIR=str(tmp / "media"),
            BROADCASTER_SECRET_KEY="a-bench-secret-key-long-enough-to-pass-checks-0123456789",
            BROADCASTER_INGEST_GROUP="ingest",
        )
        self.logs = [tmp / f"ingest-{uuid.uuid4().hex[:6]}.log" for _ in range(n)]
        self.procs = []
        for i, log in enumerate(self.logs):
            with open(log, "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "broadcaster.cli", "ingest"],
                        env=dict(env, BROADCASTER_INGEST_WORKER=f"w{i + 1}"),
                        cwd=code,  # `python -m` puts the working directory first on the path
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 60
        for log in self.logs:
            while "connected to MQTT broker" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ingest worker did not connect: {log.read_text()}")
                time.sleep(0.1)
        time.sleep(1.0)  # the subscriptions' SUBACKs

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def errors(self) -> list[str]:
        out = []
        for log in self.logs:
            out += [
                line
                for line in log.read_text(errors="replace").splitlines()
                if " ERROR " in line
                or " WARNING " in line
                or re.match(r"[A-Za-z_.]+(Error|Exception)\b", line)
            ]
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _client(port: int, password: str, name: str) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-{name}-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5,
    )
    c.username_pw_set(SERVER_USER, password)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


def site_messages(site: str, per_site: int, per_message: int) -> list[bytes]:
    """A site's events as payloads of ``per_message`` consecutive events (1: plain events)."""
    if per_message <= 1:
        return [json.dumps(e.to_dict()).encode() for e in make_events(site, per_site)]
    return [payload for _, payload in pack(site, make_events(site, per_site), per_message)]


def event_publisher(
    port: int,
    password: str,
    sites: list[str],
    per_site: int,
    public_b64: str,
    go: Any,
    results: Any,
    per_message: int = 1,
) -> None:
    """One publisher process: publish its sites' events interleaved, wait for every last ack."""
    payloads = {s: site_messages(s, per_site, per_message) for s in sites}
    rounds = max(len(p) for p in payloads.values())
    mine = set(sites)
    acked: dict[str, int] = {}
    done_at: list[float] = []
    bad: list[str] = []
    verifier = Verifier([public_b64])
    c = _client(port, password, "pub")

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        site = TOPICS.site_from(msg.topic)
        if site not in mine:
            return
        seq = json.loads(msg.payload)["payload"]["seq"]
        if seq >= per_site and acked.get(site, 0) < per_site:
            try:
                ack = verifier.open(msg.payload)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                bad.append(f"{site}: {exc}")
                return
            if ack["site"] != site or ack["seq"] != per_site:
                bad.append(f"{site}: {ack}")
        if seq > acked.get(site, 0):
            acked[site] = seq
            if seq == per_site and all(acked.get(s, 0) >= per_site for s in mine):
                done_at.append(time.monotonic())

    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.subscribe(f"{TOPICS.root}/sites/+/ack", qos=1)
    c.loop_start()
    go.wait()
    started = time.monotonic()
    messages = 0
    for n in range(rounds):
        for s in sites:
            if n < len(payloads[s]):
                c.publish(TOPICS.events(s), payloads[s][n], qos=1)
                messages += 1
    published = time.monotonic()
    deadline = time.monotonic() + 180
    while not done_at and time.monotonic() < deadline:
        time.sleep(0.05)
    c.loop_stop()
    c.disconnect()
    results.put(
        {
            "started": started,
            "published": published,
            "acked": done_at[0] if done_at else None,
            "missing": sum(1 for s in mine if acked.get(s, 0) < per_site),
            "messages": messages,
            "bad": bad[:5],
        }
    )


@dataclass
class Bare:
    """The raw inserts' rows a second (wall) and rows per CPU-second of this process."""

    many: float
    many_cpu: float
    copied: float
    copied_cpu: float


def raw_inserts(sites: list[str], per_site: int) -> Bare:
    """executemany INSERT (500 a statement) and COPY of the same rows, each on a fresh
    schema, one transaction each."""
    now = datetime.now(UTC)
    rows = [_event_row(e, now, None) for s in sites for e in make_events(s, per_site)]
    db = Database.fresh([], "ingestbench-raw")
    try:
        engine = make_engine(db.url)
        t, c = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            for i in range(0, len(rows), 500):
                conn.execute(insert(PlaybackEvent), rows[i : i + 500])
        many = len(rows) / (time.perf_counter() - t)
        many_cpu = len(rows) / (time.process_time() - c)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE playback_events"))
        columns = list(rows[0])
        t, c = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            raw: Any = conn.connection.dbapi_connection
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY playback_events ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for r in rows:
                    copy.write_row([r[c] for c in columns])
        copied = len(rows) / (time.perf_counter() - t)
        copied_cpu = len(rows) / (time.process_time() - c)
        engine.dispose()
    finally:
        db.drop()
    return Bare(many, many_cpu, copied, copied_cpu)


def run_events(args: argparse.Namespace, broker: PrivateBroker, tmp: Path) -> None:
    sites = site_ids(args.sites)
    total = args.sites * args.events
    bare = raw_inserts(sites, args.events)
    print(
        f"bare: executemany INSERT {bare.many:,.0f} rows/s ({bare.many_cpu:,.0f} rows per "
        f"client-CPU-second); COPY {bare.copied:,.0f} rows/s ({bare.copied_cpu:,.0f})"
    )
    for n in [int(x) for x in args.workers.split(",")]:
        tag = f"ingestbench-{uuid.uuid4().hex[:6]}"
        db = Database.fresh(sites, tag)
        workers = Workers(n, broker, db.url, tmp, args.code)
        engine = make_engine(db.url)
        factory = session_factory(engine)
        try:
            ctx = mp.get_context("fork")
            go, results = ctx.Event(), ctx.Queue()
            public = Signer.load(workers.key).public_b64
            shares = [sites[i :: args.publishers] for i in range(args.publishers)]
            pubs = [
                ctx.Process(
                    target=event_publisher,
                    args=(
                        broker.server_port,
                        broker.server_password,
                        share,
                        args.events,
                        public,
                        go,
                        results,
                        args.per_message,
                    ),  # fmt: skip
                )
                for share in shares
            ]
            for p in pubs:
                p.start()
            time.sleep(2.0)  # payloads built, connected, subscribed
            pg_pids = backend_pids(tag)
            assert broker.process is not None
            cpu0, pg0, mq0 = workers.cpu(), pg_cpu(pg_pids), cpu_seconds(broker.process.pid)
            t = time.monotonic()
            go.set()
            stored, stored_at = 0, None
            deadline = t + 240
            while time.monotonic() < deadline:
                with factory() as s:
                    stored = s.scalar(select(func.count()).select_from(PlaybackEvent)) or 0
                if stored >= total:
                    stored_at = time.monotonic()
                    break
                time.sleep(0.05)
            outcomes = [results.get(timeout=240) for _ in pubs]
            cpu = workers.cpu() - cpu0
            mq = cpu_seconds(broker.process.pid) - mq0  # publishers' traffic included
            pg_pids = sorted(set(pg_pids) | set(backend_pids(tag)))
            pg = pg_cpu(pg_pids) - pg0
            for p in pubs:
                p.join()
            with factory() as s:
                distinct = s.scalar(select(func.count(func.distinct(PlaybackEvent.id))))
        finally:
            engine.dispose()
            workers.stop()
            warnings = workers.errors()
            db.drop()
        acked_at = [o["acked"] for o in outcomes]
        missing = sum(o["missing"] for o in outcomes)
        bad = [b for o in outcomes for b in o["bad"]]
        end = max(a for a in acked_at if a is not None) if all(acked_at) else None
        t = min(o["started"] for o in outcomes)
        published = max(o["published"] for o in outcomes) - t
        rate_stored = total / (stored_at - t) if stored_at else 0.0
        rate_acked = total / (end - t) if end else 0.0
        messages = sum(o["messages"] for o in outcomes)
        print(
            f"{n} worker(s), {args.per_message} event(s) a message: {total} events in {messages} "
            f"messages from {args.sites} sites, published in {published:.2f} s; stored "
            f"{stored}/{total} (distinct {distinct}) → {rate_stored:,.0f} events/s; all acked → "
            f"{rate_acked:,.0f} events/s, {rate_acked * messages / total:,.0f} messages/s "
            f"({missing} sites not fully acked, {len(bad)} bad acks)"
        )
        print(
            f"   per event: workers {1e6 * cpu / total:.0f} µs CPU, their PostgreSQL backends "
            f"{1e6 * pg / total:.0f} µs, Mosquitto {1e6 * mq / total:.0f} µs (publishers' "
            f"traffic included)"
        )
        print(
            f"   workers' CPU {cpu:.2f} s → {total / cpu:,.0f} events per worker-CPU-second; "
            f"their PostgreSQL backends {pg:.2f} s; Mosquitto {mq:.2f} s. Ratio to executemany: "
            f"{rate_acked / bare.many:.2f} (wall), {total / cpu / bare.many_cpu:.2f} (per client "
            f"CPU); to COPY {rate_acked / bare.copied:.2f}, {total / cpu / bare.copied_cpu:.2f}"
        )
        for line in warnings[:5]:
            print(f"   log: {line[:200]}")


def status_publisher(
    port: int, password: str, sites: list[str], period: float, periods: int, go: Any, results: Any
) -> None:
    """Each site's retained online status once per ``period``, sites spread over the period."""
    c = _client(port, password, "hb")
    c.connect("127.0.0.1", port)
    c.loop_start()
    go.wait()
    start = time.monotonic()
    sent = 0
    step = period / len(sites)
    for k in range(periods):
        for i, site in enumerate(sites):
            due = start + k * period + i * step
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            at = datetime.now(UTC)
            status = Status(site, "online", at, 1_764_000_000_000 + k, "1.0.0", "",
                            uptime_s=60 * k, cache_bytes=1_000_000, disk_free_bytes=5_000_000_000,
                            cpu_temp_c=48.5, clock_offset_ms=1.5, clock_synced=True,
                            keys_version=1, volume=80, store_ok=True)  # fmt: skip
            c.publish(
                TOPICS.status(site), json.dumps(status.to_dict()).encode(), qos=1, retain=True
            )
            sent += 1
    c.loop_stop()
    c.disconnect()
    results.put({"sent": sent, "wall": time.monotonic() - start})


def bare_subscriber(port: int, password: str, ready: Any, stop: Any, results: Any) -> None:
    """Receives every status, decodes nothing: what any MQTT client pays for the stream."""
    got = [0]
    c = _client(port, password, "bare")

    def on_message(_c: Any, _u: Any, _msg: mqtt.MQTTMessage) -> None:
        got[0] += 1

    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.subscribe(f"{TOPICS.root}/sites/+/status", qos=1)
    c.loop_start()
    time.sleep(1.0)
    ready.set()
    stop.wait()
    c.loop_stop()
    results.put({"cpu": time.process_time(), "got": got[0]})


def run_heartbeats(args: argparse.Namespace, broker: PrivateBroker, tmp: Path) -> None:
    sites = site_ids(args.sites)
    period = args.interval / args.compress
    tag = f"ingestbench-{uuid.uuid4().hex[:6]}"
    db = Database.fresh(sites, tag)
    # Bare: one executemany UPDATE of every site's row, as one transaction.
    engine = make_engine(db.url)
    stmt = (
        update(Site)
        .where(Site.id == bindparam("b_id"))
        .values(state="online", state_at=bindparam("b_at"), last_seen_at=bindparam("b_at"))
    )
    now = datetime.now(UTC)
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(stmt, [{"b_id": s, "b_at": now} for s in sites])
    bare_update = time.perf_counter() - t
    engine.dispose()
    workers = Workers(1, broker, db.url, tmp, args.code)
    ctx = mp.get_context("fork")
    go, ready, stop, results, bare_results = (
        ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue(),
    )  # fmt: skip
    bare = ctx.Process(
        target=bare_subscriber,
        args=(broker.server_port, broker.server_password, ready, stop, bare_results),
    )
    bare.start()
    ready.wait(20)
    shares = [sites[i :: args.publishers] for i in range(args.publishers)]
    pubs = [
        ctx.Process(
            target=status_publisher,
            args=(
                broker.server_port,
                broker.server_password,
                share,
                period,
                args.periods,
                go,
                results,
            ),  # fmt: skip
        )
        for share in shares
    ]
    for p in pubs:
        p.start()
    time.sleep(1.0)
    pg_pids = backend_pids(tag)
    bare_cpu0 = cpu_seconds(bare.pid)
    cpu0, pg0 = workers.cpu(), pg_cpu(pg_pids)
    t = time.monotonic()
    go.set()
    outcomes = [results.get(timeout=args.periods * period + 120) for _ in pubs]
    published = time.monotonic() - t
    # Sustained means every site's last heartbeat is applied, not merely received.
    engine = make_engine(db.url)
    last = 1_764_000_000_000 + args.periods - 1
    done = select(func.count()).select_from(Site).where(Site.reported_plan_version == last)
    deadline = time.monotonic() + 600
    with session_factory(engine)() as s:
        while (s.scalar(done) or 0) < len(sites) and time.monotonic() < deadline:
            s.rollback()
            time.sleep(0.2)
        applied = s.scalar(done) or 0
    engine.dispose()
    wall = time.monotonic() - t
    cpu = workers.cpu() - cpu0
    bare_cpu = cpu_seconds(bare.pid) - bare_cpu0
    pg_pids = sorted(set(pg_pids) | set(backend_pids(tag)))
    pg = pg_cpu(pg_pids) - pg0
    stop.set()
    got = bare_results.get(timeout=20)["got"]
    for p in [*pubs, bare]:
        p.join()
    workers.stop()
    warnings = workers.errors()
    db.drop()
    sent = sum(o["sent"] for o in outcomes)
    print(
        f"heartbeats: {args.sites} sites every {args.interval:g} s, compressed {args.compress:g}× "
        f"(one every {period:g} s): {sent} statuses published in {published:.1f} s "
        f"({sent / published:,.0f}/s), all applied after {wall:.1f} s "
        f"({applied}/{len(sites)} sites at their last heartbeat); "
        f"{1e6 * cpu / sent:.0f} µs of ingest CPU a status"
    )
    real_rate = args.sites / args.interval  # statuses a second, uncompressed
    kept_up = applied == len(sites) and wall - published < period
    print(
        f"   ingest worker CPU {cpu:.2f} s over {wall:.1f} s ({'kept up' if kept_up else 'fell behind'}"
        f"); at the real rate ({real_rate:.0f}/s): {100 * cpu / sent * real_rate:.2f} % of one "
        f"CPU; its PostgreSQL backends {100 * pg / sent * real_rate:.2f} %"
    )
    print(
        f"   bare: a plain paho subscriber to the same topic got {got} statuses for "
        f"{1e6 * bare_cpu / max(got, 1):.0f} µs each ({100 * bare_cpu / max(got, 1) * real_rate:.2f} % "
        f"at the real rate); one executemany UPDATE of {args.sites} sites "
        f"{bare_update * 1000:.0f} ms"
    )
    for line in warnings[:5]:
        print(f"   log: {line[:200]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    ev = sub.add_parser("events")
    ev.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2,3")
    ev.add_argument("--sites", type=int, default=1000)
    ev.add_argument("--events", type=int, default=10, help="events per site")
    ev.add_argument("--publishers", type=int, default=2)
    ev.add_argument(
        "--per-message",
        type=int,
        default=1,
        help="events a message (K consecutive events of one site, an `events` batch; 1: single)",
    )
    hb = sub.add_parser("heartbeats")
    hb.add_argument("--sites", type=int, default=5000)
    hb.add_argument("--interval", type=float, default=60.0)
    hb.add_argument("--compress", type=float, default=10.0)
    hb.add_argument("--periods", type=int, default=3)
    hb.add_argument("--publishers", type=int, default=1)
    for p in (ev, hb):
        p.add_argument(
            "--code",
            type=Path,
            default=ROOT,
            help="the source tree the workers run (e.g. an export of main, for a before figure)",
        )
    args = ap.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = PrivateBroker(tmp / "broker")
        broker.start()
        try:
            if args.mode == "events":
                run_events(args, broker, tmp)
            else:
                run_heartbeats(args, broker, tmp)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
