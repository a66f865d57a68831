"""Fault-test rig: a real Mosquitto (killable), the real server ingest (Ingestor + IngestWorker on
a persistent MQTT Link, SQLite), a media server, and real agent subprocesses."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER, PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.ingest import Ingestor, IngestWorker, ingest_client_id
from broadcaster.models import Playback, PlaybackEvent, Site
from broadcaster.mqtt import Link
from broadcaster.wire.batches import BATCH_MAX_EVENTS
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.agent.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    SITE,
    MediaServer,
    ServerClient,
    media_server,
    tone_mp3,
    wait_for,
)
from tests.support.agents import AgentProcess, file_agent_config


class Ingest:
    """The server's real ingest path; stop() and start() again like a restarted process."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], signer: Signer) -> None:
        self.settings = settings
        self.factory = factory
        self.signer = signer
        self.topics = Topics(settings.topic_root)
        self.conn: Link | None = None
        self.worker: IngestWorker | None = None
        self.batch_max: int | None = BATCH_MAX_EVENTS  # None: acks as an older server's

    def start(self) -> None:
        self.conn = Link(
            self.settings.mqtt_options(),
            ingest_client_id(self.settings.ingest_worker),
            persistent=True,
        )
        # real agent processes play on the wall clock, so the server side reads it too
        ingestor = Ingestor(
            self.factory, self.signer, self.conn, self.topics, SystemClock(), self.batch_max
        )
        self.worker = IngestWorker(ingestor)
        self.conn.subscribe(
            self.topics.shared(self.settings.ingest_group, self.topics.all_events()),
            self.worker.on_event,
        )
        self.conn.subscribe(self.topics.all_status(), self.worker.on_status)
        self.worker.start()
        self.conn.start(wait=10)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.stop()
        if self.worker is not None:
            self.worker.stop()
        self.conn = self.worker = None

    # -- what the server stored ---------------------------------------------------------------

    def events(self) -> list[PlaybackEvent]:
        with self.factory() as s:
            return list(s.scalars(select(PlaybackEvent).order_by(PlaybackEvent.seq)))

    def kinds(self) -> list[tuple[str | None, str]]:
        return [(e.item_id, e.kind) for e in self.events()]

    def playbacks(self) -> dict[str, str]:
        with self.factory() as s:
            return {p.item_id: p.status for p in s.scalars(select(Playback))}

    def wait_kind(self, item_id: str | None, kind: str, timeout: float = 15.0) -> PlaybackEvent:
        def found() -> PlaybackEvent | None:
            return next((e for e in self.events() if e.item_id == item_id and e.kind == kind), None)

        return wait_for(found, timeout, f"{kind} of {item_id} stored by ingest")  # type: ignore[no-any-return]


@dataclass
class FaultRig:
    broker: PrivateBroker
    ingest: Ingest
    server: ServerClient  # publishes plans; sees events as they fly by
    media: MediaServer
    signer: Signer
    agent: AgentProcess
    account_password: str

    def mosquitto_pub(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish with the real Mosquitto command-line client, as the server user."""
        tool = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
        cmd = [tool, "-h", "127.0.0.1", "-p", str(self.broker.server_port), "-u", SERVER_USER]
        cmd += ["-P", self.broker.server_password, "-t", topic, "-q", "1", "-s"]
        if retain:
            cmd.append("-r")
        subprocess.run(cmd, input=payload, check=True, capture_output=True, timeout=10)

    def assert_exactly_once(self) -> None:
        """Every event the agent wrote reached the server once: seqs 1..N, no gap, no double,
        and the agent's outbox is empty (all acknowledged)."""
        wait_for(lambda: self.agent.outbox()[0] == 0, 30, "the agent's outbox to be acknowledged")
        _, last = self.agent.outbox()
        seqs = [e.seq for e in self.ingest.events()]
        assert seqs == list(range(1, last + 1)), seqs
        assert len({e.id for e in self.ingest.events()}) == last


@pytest.fixture
def fault_rig(
    broker: PrivateBroker,
    media_server: MediaServer,  # noqa: F811
    db: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> Iterator[FaultRig]:
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    with db() as s, s.begin():
        s.add(Site(id=SITE, name="Cụm loa thôn 1"))
    server_settings = settings.replace(**broker.server_mqtt())
    ingest = Ingest(server_settings, db, signer)
    ingest.start()
    config = file_agent_config(
        account, broker.port, signer, tmp_path, keepalive_s=5, prefetch_retry_s=0.5
    )
    agent = AgentProcess(config, tmp_path)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            server.wait_online()
            yield FaultRig(broker, ingest, server, media_server, signer, agent, account.password)
        finally:
            agent.stop()
            print(agent.log())
            ingest.stop()
