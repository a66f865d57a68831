"""End to end on PostgreSQL: the demo's self-test with ``BROADCASTER_DATABASE_URL`` set, in the
demo's own schema (skipped with a message when PostgreSQL is absent).

The scheduler stores and the agents report plan versions in milliseconds (past 32 bits), which
PostgreSQL refused before migration 0008. Takes about a minute.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from broadcaster.config import Settings
from broadcaster.demo import Demo, check_demo

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_demo_check_on_postgresql_in_its_own_schema(broker, postgres_schema, tmp_path) -> None:
    server, schema = postgres_schema
    config = Settings.load(
        env={"BROADCASTER_DATABASE_URL": server, "BROADCASTER_TTS_ENGINE": "espeak"}
    )
    demo = Demo(workdir=tmp_path / "demo", port=0, broker=broker, config=config, schema=schema)
    settings = demo.setup()
    try:
        demo.start(settings)
        summary = check_demo(demo, settings, bulletins=False)  # their own test: bulletins_e2e
    finally:
        demo.stop()
    assert "played at cum-loa-t1, dai-xa" in summary
    assert not list(Path(tmp_path / "demo").glob("*.sqlite3"))
    with psycopg.connect(server.replace("+psycopg", "")) as conn:
        versions = conn.execute(f'SELECT site_id, version FROM "{schema}".site_plans').fetchall()
        finished = conn.execute(
            f"SELECT site_id FROM \"{schema}\".playbacks WHERE status = 'finished' ORDER BY 1"
        ).fetchall()
    assert sorted(s for s, _ in versions) == [
        "cum-loa-t1",
        "cum-loa-t2",
        "dai-xa",
        "dm-cum-loa-kt",
        "dm-cum-loa-t3",
    ]
    assert all(v > 2**31 for _, v in versions)  # milliseconds
    assert [s for (s,) in finished] == ["cum-loa-t1", "dai-xa"]
