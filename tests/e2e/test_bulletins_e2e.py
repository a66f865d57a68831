"""Bulletins down the tree, for real (issue 11): the demo province with its five agent processes
and a private Mosquitto; the province sends one bulletin of each Thông tư 39 class to both
communes, as `demo --check` does (schedules/demo_bulletins.py says what each must do):

- emergency: plays at once at every site of both communes (the emergency command);
- normal: Đắk Hà accepts it at a time and its three sites play it; Đắk Mar declines it and
  its two sites are never sent it;
- priority: placed in the next slot of both communes; at Đắk Hà it plays before the commune's
  own priority item in that slot; Đắk Mar's staff put their own item first, and it plays so.

About two minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from broadcaster.broker import PrivateBroker
from broadcaster.db import make_engine, session_factory
from broadcaster.demo import Demo, _check_bulletins, _online_sites
from broadcaster.models import BulletinDelivery, Playback
from tests.support.agents import wait_for

pytestmark = pytest.mark.slow


def test_each_class_of_bulletin_behaves_as_thong_tu_39_says(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    demo = Demo(workdir=tmp_path / "demo", port=0, broker=broker)
    settings = demo.setup().replace(tts_engine="espeak")
    engine = make_engine(settings.database_url)
    try:
        demo.start(settings)
        factory = session_factory(engine)
        wait_for(lambda: _online_sites(factory) >= len(demo.agents), 30, "every agent online")
        summary = _check_bulletins(demo, settings, factory)
        with factory() as s:
            states = sorted(s.scalars(select(BulletinDelivery.state)))
            aired = s.scalars(select(Playback).where(Playback.status == "finished")).all()
    finally:
        engine.dispose()
        demo.stop()
    assert "declined by Đắk Mar" in summary
    assert states == ["accepted", "declined", "placed", "placed", "sent", "sent"]
    # emergency 5 + normal 3 + priority 5 + each commune's own (thon-1: 2 sites; dm-thon-3: 1)
    assert len(aired) == 16
    # What each speaker played was written as a WAV file by its agent.
    for agent in demo.agents:
        assert len(list(agent.output_dir.glob("*.wav"))) >= 2, agent.site
