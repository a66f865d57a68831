"""A real agent process with a backlog made before its first connect (120 events in its outbox),
against the real ingest on a real Mosquitto: after an ack that announces batches the agent sends
the backlog in batches; after an ack without the field (an older server) one event a message.
Either way every event is stored once and acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.store import Store
from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.models import Site
from broadcaster.wire.signing import Signer
from tests.fault.conftest import FaultRig, Ingest
from tests.support.agents import AgentProcess, file_agent_config

from .conftest import SITE, ServerClient

BACKLOG = 120
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@dataclass
class Backlog:
    rig: FaultRig
    server: ServerClient


def _fill_outbox(state_dir: Path) -> None:
    """What an agent that played offline for a while holds: ``BACKLOG`` unsent events."""
    store = Store(state_dir / "agent.sqlite3", SITE)
    try:
        for n in range(BACKLOG):
            at = T0 + timedelta(minutes=n)
            store.append_event("skipped", at, item_id=f"occ-{n}", announcement_id=1,
                               scheduled_at=at, detail="more than 30 s late")  # fmt: skip
    finally:
        store.close()


@pytest.fixture(params=[50, None], ids=["server-takes-batches", "older-server"])
def backlog(
    request: pytest.FixtureRequest,
    broker: PrivateBroker,
    db: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> Iterator[Backlog]:
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    with db() as s, s.begin():
        s.add(Site(id=SITE, name="Cụm loa thôn 1"))
    ingest = Ingest(settings.replace(**broker.server_mqtt()), db, signer)
    ingest.batch_max = request.param
    ingest.start()
    config = file_agent_config(account, broker.port, signer, tmp_path, keepalive_s=5)
    _fill_outbox(Path(config.state_dir))
    agent = AgentProcess(config, tmp_path)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            media = None  # nothing to play: the backlog is all there is
            rig = FaultRig(broker, ingest, server, media, signer, agent, account.password)  # type: ignore[arg-type]
            yield Backlog(rig, server)
        finally:
            agent.stop()
            print(agent.log())
            ingest.stop()


def test_a_backlog_is_flushed_as_the_servers_acks_allow(backlog: Backlog) -> None:
    rig, server = backlog.rig, backlog.server
    rig.assert_exactly_once()  # every event stored once, the outbox acknowledged and empty
    assert len(rig.ingest.events()) == BACKLOG
    log = rig.agent.log()
    if rig.ingest.batch_max:
        # The oldest alone (its ack says batches are welcome), then 119 in 50 + 50 + 19.
        assert server.batches >= 3
        assert f"(re)sent {BACKLOG} of {BACKLOG} unacked event(s), up to 50 a message" in log
    else:
        assert server.batches == 0  # an older server never sees a batch
        assert f"(re)sent {BACKLOG} of {BACKLOG} unacked event(s), up to 1 a message" in log
    assert {e.kind for e in rig.ingest.events()} == {"skipped"}
