"""Network namespaces behind shaped links: an agent in its own namespace, as if on a rural line.

A :class:`RuralLink` makes a namespace and a point-to-point IPv4 link (a /30 of 10.250.x.y)
between it and the root namespace, where the server side listens on ``server_ip``. The link
delays, loses and rate-limits packets and can be cut (an outage). ``tc netem`` is the usual tool;
this machine's kernel has no netem (``CONFIG_NET_SCH_NETEM`` is not set and the kernel loads no
modules), so the link is made of what the kernel has:

- a TUN device at each end and a relay process (``tests/support/link_relay.py``) between them,
  which passes each packet after ``delay_ms`` (each way), loses ``loss`` of them at random
  (seeded, each way) and all of them during an outage;
- ``tc qdisc … tbf`` on both devices for the rate (``rate_kbit``, each way).

The namespace has only its /30 and no default route: nothing it sends leaves the machine.
:class:`LinkSet` names everything after a random tag (unique per test run) and tears it all
down on close, even after a failure. :func:`unavailable` says why links cannot be made here
(not root, no ``ip``/``tc``, no TUN, no namespaces), for a skip.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcaster.broker import PrivateBroker

REPO = Path(__file__).resolve().parents[2]
SUBNETS = ipaddress.ip_network("10.250.0.0/16")  # /30 per link, inside namespaces we make


@dataclass(frozen=True)
class Shape:
    """What the link does to packets, each way (``tc netem delay 300ms loss 5% rate 256kbit``)."""

    delay_ms: float = 300.0
    loss: float = 0.05
    rate_kbit: int = 256
    seed: int = 1


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Why shaped namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"{tool} (iproute2) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (no TUN devices)"
    probe = f"bcprobe-{secrets.token_hex(3)}"
    try:
        _run("ip", "netns", "add", probe)
    except RuntimeError as exc:
        return f"cannot make a network namespace: {exc}"
    _run("ip", "netns", "del", probe)
    return None


class RuralLink:
    """One namespace and its shaped link to the root namespace (see the module docstring)."""

    def __init__(self, namespace: str, device: str, subnet: ipaddress.IPv4Network, shape: Shape):
        self.namespace = namespace
        self.shape = shape
        hosts = list(subnet.hosts())
        self.server_ip, self.agent_ip = str(hosts[0]), str(hosts[1])
        self.server_dev, self.agent_dev = f"{device}s", f"{device}a"
        self.relay: subprocess.Popen[str] | None = None
        self.is_cut = False

    # -- life ---------------------------------------------------------------------------------

    def open(self) -> None:
        _run("ip", "netns", "add", self.namespace)
        self.relay = subprocess.Popen(
            [sys.executable, "-m", "tests.support.link_relay", "--a", self.agent_dev]
            + ["--b", self.server_dev, "--delay-ms", str(self.shape.delay_ms)]
            + ["--loss", str(self.shape.loss), "--seed", str(self.shape.seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        if self._read() != "ready":
            raise RuntimeError(f"the link relay for {self.namespace} did not start")
        ns = ("ip", "-n", self.namespace)
        _run("ip", "link", "set", self.agent_dev, "netns", self.namespace)
        _run(*ns, "link", "set", "lo", "up")
        _run(*ns, "addr", "add", self.agent_ip, "peer", self.server_ip, "dev", self.agent_dev)
        _run(*ns, "link", "set", self.agent_dev, "up")
        _run("ip", "addr", "add", self.server_ip, "peer", self.agent_ip, "dev", self.server_dev)
        _run("ip", "link", "set", self.server_dev, "up")
        # tbf: the rate; its queue holds half a second of it, as a slow line's modem would
        tbf = ("tbf", "rate", f"{self.shape.rate_kbit}kbit", "burst", "4kb", "latency", "500ms")
        _run("tc", "qdisc", "replace", "dev", self.server_dev, "root", *tbf)
        _run(*self.exec_prefix(), "tc", "qdisc", "replace", "dev", self.agent_dev, "root", *tbf)

    def close(self) -> None:
        """Stop the relay (its devices go with it) and delete the namespace."""
        if self.relay is not None:
            if self.relay.stdin is not None:
                self.relay.stdin.close()
            try:
                self.relay.wait(5)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait()
            if self.relay.stdout is not None:
                self.relay.stdout.close()
            self.relay = None
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)

    # -- use ----------------------------------------------------------------------------------

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.namespace]

    def cut(self) -> None:
        """An outage: every packet either way is lost until :meth:`mend`."""
        self._command("cut")
        self.is_cut = True

    def mend(self) -> None:
        self._command("mend")
        self.is_cut = False

    def stats(self) -> dict[str, dict[str, int]]:
        """Packets per direction (``a_to_b`` is agent → server): passed, lost, cut."""
        return json.loads(self._command("stats"))  # type: ignore[no-any-return]

    # -- inside -------------------------------------------------------------------------------

    def _command(self, word: str) -> str:
        assert self.relay is not None and self.relay.stdin is not None, "the link is closed"
        self.relay.stdin.write(word + "\n")
        self.relay.stdin.flush()
        answer = self._read()
        if word != "stats" and answer != "ok":
            raise RuntimeError(f"link relay: {answer}")
        return answer

    def _read(self) -> str:
        assert self.relay is not None and self.relay.stdout is not None
        return self.relay.stdout.readline().strip()


@dataclass
class LinkSet:
    """Links named after one random tag, so runs side by side do not meet; ``close`` removes
    them all (call it from a fixture's finalizer)."""

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    links: list[RuralLink] = field(default_factory=list)
    _block: ipaddress.IPv4Network | None = None

    def add(self, shape: Shape | None = None) -> RuralLink:
        n = len(self.links)
        subnet = list(self._subnets().subnets(new_prefix=30))[n]
        link = RuralLink(f"bcnet-{self.tag}-{n}", f"bc{self.tag}{n}", subnet, shape or Shape())
        self.links.append(link)
        link.open()
        return link

    def close(self) -> None:
        for link in reversed(self.links):
            link.close()
        self.links.clear()

    def __enter__(self) -> LinkSet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _subnets(self) -> ipaddress.IPv4Network:
        """A /24 of 10.250/16 that no address of the root namespace is in (picked once)."""
        if self._block is None:
            out = _run("ip", "-4", "-o", "addr", "show")
            used = [ipaddress.ip_address(a) for a in re.findall(r"inet (\S+?)[/ ]", out)]
            free = [b for b in SUBNETS.subnets(new_prefix=24) if not any(a in b for a in used)]
            self._block = free[secrets.randbelow(len(free))]
        return self._block


@dataclass
class LinkedBroker(PrivateBroker):
    """A :class:`PrivateBroker` that also listens on the server end of each link (the same
    port, the same passwords and ACL)."""

    bind: list[str] = field(default_factory=list)

    def write_config(self) -> Path:
        conf = super().write_config()
        extra = "".join("\n".join(self.agents_listener(address)) + "\n" for address in self.bind)
        conf.write_text(conf.read_text() + extra)
        return conf
