"""A whole live-capable site on one machine (tests/live and bench/live_bench.py): the demo
commune in the database, the web app served on a free port and wired to a private Mosquitto
and a private Icecast, ingest, and real agent processes (file player) for the chosen sites."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.store import MediaStore
from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.keys import load_or_create_signer
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.models import Site, Zone
from broadcaster.processes import IngestPart
from schedules.programme_import import import_demo
from tests.support.agents import AgentProcess, start_file_agents, wait_online
from tests.web.conftest import FakeRenderer
from web import create_app

ZONE = "thon-1"
DEMO_SITES = ("cum-loa-t1", "dai-xa")  # the demo's sites of thon-1


@dataclass
class LiveSite:
    app: Flask
    base: str
    settings: Settings
    agents: list[AgentProcess]
    db: sessionmaker[Session]


def heard_seconds(agent: AgentProcess) -> float:
    """Seconds of sound the agent's file player has written so far into the live item's WAV
    (48 kHz 16-bit mono, still growing)."""
    out = Path(agent.config.output_dir)
    parts = list(out.glob(".*.part")) if out.exists() else []
    return max((p.stat().st_size - 44) / 96000 for p in parts) if parts else 0.0


def _add_sites(db: sessionmaker[Session], count: int) -> tuple[str, ...]:
    """The demo's sites of thon-1, then more of the same commune, up to ``count``."""
    sites = list(DEMO_SITES[:count])
    with transaction(db) as session:
        zone = session.scalars(select(Zone).where(Zone.id == ZONE)).one()
        for n in range(len(sites), count):
            site = Site(id=f"loa-{n:03d}", name=f"Cụm loa {n}", unit_id=zone.unit_id)
            site.zones.append(zone)
            session.add(site)
            sites.append(site.id)
    return tuple(sites)


@contextmanager
def live_site(
    settings: Settings,
    db: sessionmaker[Session],
    broker: PrivateBroker,
    icecast: PrivateIcecast,
    workdir: Path,
    *,
    agents: int = 2,
    stall_s: int = 3,
) -> Iterator[LiveSite]:
    with transaction(db) as session:
        import_demo(session)
    sites = _add_sites(db, agents)
    for site in sites:
        broker.add_agent(site, (ZONE,))
    broker.start()
    assert icecast.listeners is not None
    settings = settings.replace(
        **broker.server_mqtt(),
        live_icecast_source_url=icecast.source_url(""),
        live_icecast_public_url=icecast.url,
        live_listeners_file=str(icecast.listeners.path),
        live_dir=str(workdir / "live"),
        live_stall_s=stall_s,
    )
    from werkzeug.serving import make_server

    renderer = FakeRenderer(MediaStore(settings.media_dir), b"")
    app = create_app(settings, renderer=renderer, sessions=db)
    app.config.update(TESTING=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ingest = IngestPart(settings, SystemClock())
    ingest.start()
    signer = load_or_create_signer(settings.signing_key_file)
    running: list[AgentProcess] = []
    try:
        running = start_file_agents(broker.agents, broker.port, signer, workdir)
        wait_online(db, sites, 20 + len(sites))
        base_url = f"http://127.0.0.1:{server.server_port}"
        yield LiveSite(app, base_url, settings, running, db)
    finally:
        for agent in running:
            code = agent.stop()
            if code != 0:
                print(agent.log())
        ingest.stop()
        server.shutdown()
        server.server_close()
        thread.join(5)
        app.extensions["broadcaster"].close()
