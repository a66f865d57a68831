"""Benchmark: playback events per second from MQTT into each database, vs raw INSERT rate.

Run: .venv/bin/python -m bench.ingest_bench [--sites 20] [--events 1000] [--db sqlite,postgresql]

A real private Mosquitto (PrivateBroker); one paho publisher per site sends its events at QoS 1
as one burst; the server side is the production path (a persistent mqtt.Link → IngestWorker →
Ingestor.store_events → signed acks back). We time from the first publish until every event is
stored. The bare figure, in the same run, is a raw executemany INSERT of the same rows into the
same database (one transaction per 500), with no MQTT, no JSON, no dedupe, no playback log.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, insert, select

from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, upgrade
from broadcaster.ingest import Ingestor, IngestWorker, _event_row
from broadcaster.models import PlaybackEvent, Site
from broadcaster.mqtt import Link
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_events(sites: list[str], per_site: int) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for s in sites:
        evs = []
        for n in range(per_site):
            item = f"s{n // 2}-{int(T0.timestamp()) + n // 2 * 600}"
            kind = "started" if n % 2 == 0 else "finished"
            evs.append(
                Event(
                    str(uuid.uuid4()),
                    s,
                    "ob1",
                    n + 1,
                    kind,
                    T0 + timedelta(seconds=n),
                    item,
                    1,
                    T0 + timedelta(minutes=10 * (n // 2)),
                )  # fmt: skip
            )
        out[s] = evs
    return out


def fresh_db(kind: str, tmp: Path) -> tuple[str, object]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/ingest-{uuid.uuid4().hex[:6]}.sqlite3"
        upgrade(url)
        return url, None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    raw = PG.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def drop(schema: object) -> None:
    if schema:
        import psycopg

        with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def bare_insert(url: str, events: list[Event]) -> float:
    engine = make_engine(url)
    now = datetime.now(UTC)
    rows = [_event_row(e, now, None) for e in events]
    t = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), 500):
            conn.execute(insert(PlaybackEvent), rows[i : i + 500])
    elapsed = time.perf_counter() - t
    engine.dispose()
    return len(rows) / elapsed


def via_mqtt(url: str, broker: PrivateBroker, events: dict[str, list[Event]], tmp: Path) -> float:
    topics = Topics()
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        s.add_all(Site(id=sid, name=sid) for sid in events)
    settings = Settings.load(
        env={},
        database_url=url,
        **broker.server_mqtt(),
        signing_key_file=str(tmp / "k.pem"),
    )
    conn = Link(settings.mqtt_options(), f"bench-ingest-{uuid.uuid4().hex[:6]}", persistent=True)
    worker = IngestWorker(Ingestor(factory, Signer.generate(), conn, topics, SystemClock()))
    conn.subscribe(topics.all_events(), worker.on_event)
    worker.start()
    conn.start(wait=10.0)
    clients = []
    for account in broker.agents:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"agent-{account.site}")
        c.username_pw_set(account.username, account.password)
        c.max_inflight_messages_set(100)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        clients.append((c, account.site))
    time.sleep(1.0)
    total = sum(len(v) for v in events.values())
    payloads = {s: [json.dumps(e.to_dict()).encode() for e in evs] for s, evs in events.items()}

    def burst(c: mqtt.Client, site: str) -> None:
        for p in payloads[site]:
            c.publish(topics.events(site), p, qos=1)

    t = time.perf_counter()
    threads = [threading.Thread(target=burst, args=cs) for cs in clients]
    for th in threads:
        th.start()
    deadline = t + 120
    stored, last, last_change = 0, -1, t
    while time.perf_counter() < deadline:
        with factory() as s:
            stored = s.scalar(select(func.count()).select_from(PlaybackEvent)) or 0
        if stored != last:
            last, last_change = stored, time.perf_counter()
        if stored >= total or time.perf_counter() - last_change > 10:
            break
        time.sleep(0.05)
    elapsed = last_change - t
    for th in threads:
        th.join()
    for c, _ in clients:
        c.loop_stop()
        c.disconnect()
    conn.stop()
    worker.stop()
    engine.dispose()
    if stored < total:
        # Mosquitto keeps at most max_queued_messages (10,000 in PrivateBroker) for a session;
        # a bigger burst is dropped there, and real agents resend it (every 10 s, unacked).
        print(f"  only {stored} of {total} events arrived: the broker's queue overflowed")
    return stored / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--events", type=int, default=1000, help="events per site")
    ap.add_argument("--db", default="sqlite,postgresql")
    args = ap.parse_args()
    sites = [f"site-{i:04d}" for i in range(args.sites)]
    events = make_events(sites, args.events)
    flat = [e for evs in events.values() for e in evs]
    print(f"{platform.machine()}, Python {platform.python_version()}; "
          f"{args.sites} sites × {args.events} events = {len(flat)} events, QoS 1")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = PrivateBroker(tmp / "broker")
        for s in sites:
            broker.add_agent(s, ["z"])
        broker.start()
        try:
            for kind in args.db.split(","):
                url, schema = fresh_db(kind, tmp)
                try:
                    ours = via_mqtt(url, broker, events, tmp)
                finally:
                    drop(schema)
                url, schema = fresh_db(kind, tmp)
                try:
                    bare = bare_insert(url, flat)
                finally:
                    drop(schema)
                print(f"{kind}: MQTT→ingest {ours:,.0f} events/s; raw INSERT {bare:,.0f} rows/s; "
                      f"ratio {ours / bare:.2f}")  # fmt: skip
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
