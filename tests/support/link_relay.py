"""The middle of a shaped test link: a process that passes IP packets between two TUN devices,
each after ``--delay-ms``, losing ``--loss`` of them at random (seeded), and all of them while the
link is cut. It stands in for ``tc netem``, which this kernel lacks (see tests/support/netns.py).

    python -m tests.support.link_relay --a TUN --b TUN --delay-ms 300 --loss 0.05 --seed 1

It creates both devices (in the namespace it runs in; the caller moves them), prints ``ready``,
then reads commands on stdin, one a line, answering each with one line:

- ``cut``: the link goes dark (packets in flight are lost too); ``ok``
- ``mend``: packets pass again; ``ok``
- ``stats``: a JSON object, per direction (``a_to_b``, ``b_to_a``): packets ``passed``,
  ``lost`` at random, ``cut`` by an outage.

At the end of stdin it exits, and the kernel removes both devices with it.
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65535


def open_tun(name: str) -> int:
    """A new TUN device ``name`` (IP packets, no extra header); the device lives while the
    returned descriptor is open."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def relay(a: int, b: int, delay_s: float, loss: float, rng: random.Random, control: int) -> None:
    stats = {d: {"passed": 0, "lost": 0, "cut": 0} for d in ("a_to_b", "b_to_a")}
    pending: list[tuple[float, int, int, str, bytes]] = []  # (due, n, to, direction, packet)
    cut = False
    count = 0
    commands = b""
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        ready, _, _ = select.select([a, b, control], [], [], timeout)
        for fd in ready:
            if fd == control:
                data = os.read(control, 4096)
                if not data:
                    return
                commands += data
                while b"\n" in commands:
                    line, commands = commands.split(b"\n", 1)
                    word = line.decode().strip()
                    if word == "cut":
                        cut = True
                        for _, _, _, direction, _ in pending:
                            stats[direction]["cut"] += 1
                        pending.clear()
                        answer = "ok"
                    elif word == "mend":
                        cut = False
                        answer = "ok"
                    elif word == "stats":
                        answer = json.dumps(stats)
                    else:
                        answer = f"unknown command {word!r}"
                    sys.stdout.write(answer + "\n")
                    sys.stdout.flush()
                continue
            packet = os.read(fd, MAX_PACKET)
            direction, to = ("a_to_b", b) if fd == a else ("b_to_a", a)
            if cut:
                stats[direction]["cut"] += 1
            elif rng.random() < loss:
                stats[direction]["lost"] += 1
            else:
                count += 1
                heapq.heappush(pending, (time.monotonic() + delay_s, count, to, direction, packet))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, to, direction, packet = heapq.heappop(pending)
            try:
                os.write(to, packet)
                stats[direction]["passed"] += 1
            except OSError:  # the device is down (being torn down)
                stats[direction]["cut"] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="TUN device name of one end")
    parser.add_argument("--b", required=True, help="TUN device name of the other end")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay, each way")
    parser.add_argument("--loss", type=float, default=0.0, help="share of packets lost, each way")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    a, b = open_tun(args.a), open_tun(args.b)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    relay(a, b, args.delay_ms / 1000, args.loss, random.Random(args.seed), sys.stdin.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
