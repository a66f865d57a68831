"""End to end, for real: the demo's self-test against a fixture Mosquitto and agent processes.

Creates, submits, approves an announcement ~20 s ahead through the workflow service, waits
until every agent of the zone has played it (WAV written by its file player), checks the WAVs
and the playback log. Takes about 40 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.demo import Demo, check_demo

pytestmark = pytest.mark.slow


def test_demo_check_plays_on_every_site_of_the_zone(broker, tmp_path: Path) -> None:
    demo = Demo(workdir=tmp_path / "demo", port=0, broker=broker)
    settings = demo.setup().replace(tts_engine="espeak")
    try:
        demo.start(settings)
        summary = check_demo(demo, settings, bulletins=False)  # their own test: bulletins_e2e
    finally:
        demo.stop()
    assert "played at cum-loa-t1, dai-xa" in summary
    assert broker.process is None  # stopped with the demo
    # the site outside the zone played nothing, and said so in no log row
    assert not list((tmp_path / "demo/agents/cum-loa-t2/played").glob("*.wav"))
