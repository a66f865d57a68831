"""A process holding one ``broadcaster.mqtt.Link``, for tests that need real, separate processes
(unique client ids, last will on kill -9).

``python -m tests.support.mqtt_peer '<json>'`` with the keys ``options`` (MqttOptions fields),
``role`` (a unique client id is made for it) or ``client_id``, ``persistent``, and ``will``
(``[topic, payload]``). Prints ``id <client id>`` then ``connected``, and runs until stdin closes
or it is killed; the link's log goes to stderr.
"""

from __future__ import annotations

import json
import logging
import sys

from broadcaster.mqtt import Link, MqttOptions, Will, unique_client_id


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    client_id = spec.get("client_id") or unique_client_id(spec["role"])
    will = Will(spec["will"][0], spec["will"][1].encode()) if spec.get("will") else None
    link = Link(
        MqttOptions(**spec["options"]),
        client_id,
        persistent=spec.get("persistent", False),
        will=will,
    )
    print(f"id {client_id}", flush=True)  # noqa: T201 - the test reads stdout
    if not link.start(wait=10):
        return 1
    print("connected", flush=True)  # noqa: T201
    sys.stdin.read()  # until the test closes our stdin
    link.stop()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(main(sys.argv[1:]))
