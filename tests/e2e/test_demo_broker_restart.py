"""The demo restarts a broker that dies (issue 10): kill -9 the demo's Mosquitto; its watch starts
it again on the same ports, every agent comes back online and reports the plan last published
to it (kept by the broker's persistence, or republished by the scheduler's check)."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from broadcaster.broker import BrokerWatch, PrivateBroker
from broadcaster.db import make_engine, session_factory
from broadcaster.demo import Demo, _plans_live
from broadcaster.models import Site
from tests.support.agents import wait_for


def test_a_killed_broker_is_restarted_with_its_retained_state(tmp_path: Path) -> None:
    """The watch alone, quickly: kill -9, restarted on the same port, retained message kept."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = PrivateBroker(tmp_path / "broker", autosave_s=1)
    broker.start()
    watch = BrokerWatch(broker, interval_s=0.2)
    watch.start()
    try:
        options = broker.server_mqtt()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-pub")
        pub.username_pw_set(options["mqtt_username"], options["mqtt_password"])
        pub.connect("127.0.0.1", broker.server_port)
        pub.loop_start()
        published = time.time()
        pub.publish("loa/v1/t", b"kept", qos=1, retain=True).wait_for_publish(5)
        pub.disconnect()
        pub.loop_stop()
        saved = broker.workdir / "mosquitto.db"
        wait_for(
            lambda: saved.exists() and saved.stat().st_mtime > published + 0.1, 5, "an autosave"
        )
        port, first = broker.port, broker.process
        assert first is not None
        first.send_signal(signal.SIGKILL)
        wait_for(lambda: watch.restarts == 1 and broker.running, 10, "the broker restarted")
        assert broker.port == port and broker.process is not first
        got: list[bytes] = []
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-sub")
        sub.username_pw_set(options["mqtt_username"], options["mqtt_password"])
        sub.on_connect = lambda c, *_: c.subscribe("loa/v1/t", qos=1)
        sub.on_message = lambda c, u, m: got.append(bytes(m.payload))
        sub.connect("127.0.0.1", broker.server_port)
        sub.loop_start()
        wait_for(lambda: got == [b"kept"], 5, "the retained message after the restart")
        sub.disconnect()
        sub.loop_stop()
    finally:
        watch.stop()
        broker.stop()
    assert broker.process is None  # a broker stopped on purpose is not restarted


def test_killing_the_demos_broker(broker: PrivateBroker, tmp_path: Path) -> None:
    demo = Demo(workdir=tmp_path / "demo", port=0, broker=broker)
    settings = demo.setup().replace(tts_engine="espeak")
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)

    def online_since(t: datetime) -> bool:
        with factory() as s:
            rows = s.execute(select(Site.state, Site.state_at)).all()
        assert rows and len(rows) == len(demo.agents)  # one agent per site of the demo
        return all(state == "online" and at and at > t for state, at in rows)

    try:
        demo.start(settings)
        wait_for(lambda: online_since(datetime.min.replace(tzinfo=UTC)), 30, "agents online")
        wait_for(lambda: _plans_live(factory), 30, "every agent has its plan")
        killed_at = datetime.now(UTC)
        assert broker.process is not None and demo.watch is not None
        broker.process.send_signal(signal.SIGKILL)
        wait_for(lambda: demo.watch.restarts == 1, 10, "the demo restarted its broker")  # type: ignore[union-attr]
        wait_for(lambda: online_since(killed_at), 60, "every agent back online")
        wait_for(lambda: _plans_live(factory), 30, "every agent reports its plan")
    finally:
        demo.stop()
        engine.dispose()
