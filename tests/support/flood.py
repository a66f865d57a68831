"""A hostile agent for tests: floods its own events topic as fast as it can.

``python -m tests.support.flood '<json>'`` with ``port``, ``username``, ``password``, ``site``,
``topic``, ``seconds``, ``qos`` and ``client_id`` (what it asks for; the agents' listener gives
it its username instead). Every other message is a well-formed event with a fresh id and seq (the
heavy kind: it reaches the database), the rest junk. Prints ``connected``, then ``sent N``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=spec["client_id"])
    client.username_pw_set(spec["username"], spec["password"])
    client.max_queued_messages_set(1000)
    client.on_connect = lambda *a: connected.set()
    client.connect("127.0.0.1", spec["port"])
    client.loop_start()
    if not connected.wait(10):
        return 1
    print("connected", flush=True)  # noqa: T201 - the test reads stdout
    outbox = str(uuid.uuid4())
    sent = 0
    deadline = time.monotonic() + spec["seconds"]
    while time.monotonic() < deadline:
        if sent % 2:
            payload = b'{"v": 1, "type": "event", "junk": "' + b"x" * 200 + b'"}'
        else:
            event = {
                "v": 1,
                "type": "event",
                "id": str(uuid.uuid4()),
                "site": spec["site"],
                "outbox": outbox,
                "seq": sent // 2 + 1,
                "kind": "failed",
                "at": "2026-12-01T00:00:00.000Z",
                "item_id": None,
                "announcement_id": None,
                "scheduled_at": None,
                "detail": "flood",
            }
            payload = json.dumps(event).encode()
        info = client.publish(spec["topic"], payload, qos=spec["qos"])
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            sent += 1
        else:
            time.sleep(0.001)  # paho's queue is full: let the network thread drain it
    client.disconnect()
    client.loop_stop()
    print(f"sent {sent}", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
