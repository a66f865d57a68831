"""A real agent process against the real ingest on a real Mosquitto, with a backlog made before
its first connect (120 events in its outbox) or while the broker was away: after an ack that
announces batches the agent sends the backlog in batches; after an ack without the field (an
older server) one event a message. Either way every event is stored once and acknowledged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.store import Store
from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.models import Site
from broadcaster.wire.plan import Media
from broadcaster.wire.signing import Signer
from tests.fault.conftest import FaultRig, Ingest
from tests.support.agents import AgentProcess, file_agent_config

from .conftest import SITE, ServerClient, make_plan

BACKLOG = 120
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
# Media nobody serves (connection refused at once): each item fails when due, one event each.
NOWHERE = Media(sha256="b" * 64, url=f"http://127.0.0.1:9/{'b' * 64}.mp3", size=10,
                duration_ms=1000)  # fmt: skip


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


@contextmanager
def running(
    broker: PrivateBroker,
    db: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    batch_max: int | None,
    backlog: bool,
) -> Iterator[FaultRig]:
    """The real ingest (announcing ``batch_max``), a server client and an agent process."""
    account = broker.add_agent(SITE, ["thon-1"])
    broker.start()
    signer = Signer.generate()
    with db() as s, s.begin():
        s.add(Site(id=SITE, name="Cụm loa thôn 1"))
    ingest = Ingest(settings.replace(**broker.server_mqtt()), db, signer)
    ingest.batch_max = batch_max
    ingest.start()
    config = file_agent_config(account, broker.port, signer, tmp_path, keepalive_s=5)
    if backlog:
        _fill_outbox(Path(config.state_dir))
    agent = AgentProcess(config, tmp_path)
    with ServerClient(broker, signer) as server:
        agent.start()
        try:
            media = None  # nothing is fetched from it
            yield FaultRig(broker, ingest, server, media, signer, agent, account.password)  # type: ignore[arg-type]
        finally:
            agent.stop()
            print(agent.log())
            ingest.stop()


@pytest.mark.parametrize("batch_max", [50, None], ids=["server-takes-batches", "older-server"])
def test_a_backlog_from_before_the_first_connect_is_flushed_as_the_acks_allow(
    batch_max: int | None,
    broker: PrivateBroker,
    db: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> None:
    with running(broker, db, settings, tmp_path, batch_max, backlog=True) as rig:
        rig.assert_exactly_once()  # every event stored once, the outbox acknowledged and empty
        assert len(rig.ingest.events()) == BACKLOG
        log = rig.agent.log()
        if batch_max:
            # The oldest alone (its ack says batches are welcome), then 119 in 50 + 50 + 19.
            assert rig.server.batches >= 3
            assert f"(re)sent {BACKLOG} of {BACKLOG} unacked event(s), up to 50 a message" in log
        else:
            assert rig.server.batches == 0  # an older server never sees a batch
            assert f"(re)sent {BACKLOG} of {BACKLOG} unacked event(s), up to 1 a message" in log
        assert {e.kind for e in rig.ingest.events()} == {"skipped"}


@pytest.mark.fault
def test_a_backlog_made_while_the_broker_is_away_goes_in_batches_on_reconnect(
    broker: PrivateBroker, db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    with running(broker, db, settings, tmp_path, 50, backlog=False) as rig:
        # One event while connected: its ack tells the agent the server takes batches.
        rig.server.publish_plan(make_plan(1, [("past", -120.0, NOWHERE)]))
        rig.ingest.wait_kind("past", "skipped")
        rig.agent.wait_log("ack up to seq 1")
        rig.server.publish_plan(make_plan(2, [(f"due-{n}", 4.0 + n / 10, NOWHERE)
                                              for n in range(6)]))  # fmt: skip
        rig.agent.wait_log("accepted plan v2")
        rig.broker.stop()
        rig.agent.wait_log("item due-5", timeout=20)  # all six failed with the broker away
        rig.broker.start()
        rig.assert_exactly_once()
        kinds = {(e.item_id, e.kind) for e in rig.ingest.events()}
        assert {(f"due-{n}", "failed") for n in range(6)} <= kinds
        # After the reconnect: the oldest alone, the rest in one batch without waiting.
        flushes = re.findall(r"\(re\)sent (\d+) of \d+ unacked event\(s\), up to (\d+)",
                             rig.agent.log())  # fmt: skip
        assert ("6", "50") in flushes or ("7", "50") in flushes, flushes
