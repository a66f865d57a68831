"""Ingest scale-out under a kill, the half the fault tests share whatever carries the events
(tests/fault/test_ingest_workers.py: Mosquitto's shared subscription; test_nats_ingest_workers.py:
a NATS queue group): ``broadcaster ingest`` worker processes, a burst of short items on every
agent, one worker SIGKILLed in the middle of it, and the check that every event is stored once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import PlaybackEvent
from broadcaster.mqtt import Link
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.agent.conftest import MediaServer, make_mp3, make_plan
from tests.support.agents import AgentProcess
from tests.support.process import LoggedProcess, cli_args, wait_for

ITEMS = 8  # per site: a started and a finished event each
GROUP = "ingest"


def ingest_worker(env: dict[str, str], worker: str, log: Path) -> LoggedProcess:
    """``broadcaster ingest`` as worker ``worker`` of the group ``ingest``, started."""
    env = dict(env, BROADCASTER_INGEST_WORKER=worker, BROADCASTER_INGEST_GROUP=GROUP)
    return LoggedProcess(cli_args("ingest"), log, env).start()


def publish_burst(
    plans: Link, signer: Signer, media_server: MediaServer, sites: Sequence[str], workdir: Path
) -> None:
    """Each site's plan v1: ITEMS items of 0.2 s, half a second apart, from 4 s on."""
    media = media_server.add(make_mp3(workdir / "blip.mp3", seconds=0.2))
    for site in sites:
        items = [(f"{site}-{n}", 4.0 + 0.5 * n, media) for n in range(ITEMS)]
        plan = make_plan(1, items, site=site)
        plans.publish(Topics().plan(site), signer.sign(plan.to_dict()), retain=True)


def kill_mid_burst_and_check(
    db: sessionmaker[Session],
    victim: LoggedProcess,
    agents: Sequence[AgentProcess],
    timeout: float,
) -> None:
    """Once the burst is under way, SIGKILL ``victim`` (no clean disconnect); then every agent
    plays its last item and its outbox empties (the acks reach it), and each site's stored
    seqs are 1..N, no gap, no double, a started and a finished event per item at least.
    ``timeout`` bounds each wait."""

    def stored() -> int:
        with db() as s:
            return int(s.scalar(select(func.count()).select_from(PlaybackEvent)) or 0)

    wait_for(lambda: stored() >= 6, timeout, "the burst under way")
    victim.kill()
    for agent in agents:
        agent.wait_log(f"item {agent.config.site}-{ITEMS - 1} finished", timeout=timeout)
    for agent in agents:
        wait_for(lambda a=agent: a.outbox()[0] == 0, timeout, "outbox acked")
    with db() as s:
        rows = s.execute(select(PlaybackEvent.site_id, PlaybackEvent.seq)).all()
    for agent in agents:
        seqs = sorted(seq for site, seq in rows if site == agent.config.site)
        assert seqs == list(range(1, agent.outbox()[1] + 1)), seqs
        assert len(seqs) >= 2 * ITEMS, seqs  # started + finished
