"""systemd notifications (``Type=notify``, ``WatchdogSec=``) over ``$NOTIFY_SOCKET`` with the
standard library: a datagram per message, no extra package. Without systemd it does nothing."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


def notify(state: str, env: dict[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1"); True if sent."""
    address = (env if env is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        return True
    except OSError as exc:
        logger.warning("sd_notify %r failed: %s", state, exc)
        return False


def watchdog_interval_s(env: dict[str, str] | None = None) -> float | None:
    """Half the WatchdogSec systemd asked for (``$WATCHDOG_USEC``), or None without one."""
    e = env if env is not None else os.environ
    usec = e.get("WATCHDOG_USEC", "")
    pid = e.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2


class Watchdog:
    """Pings systemd's watchdog while ``healthy()`` holds; a wedged agent stops pinging and is
    restarted by systemd."""

    def __init__(
        self, healthy: Callable[[], bool], stop: threading.Event, interval_s: float
    ) -> None:
        self.healthy = healthy
        self.stop = stop
        self.interval_s = interval_s
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval_s):
            try:
                ok = self.healthy()
            except Exception:
                logger.exception("health check failed")
                ok = False
            if ok:
                notify("WATCHDOG=1")
            else:
                logger.error("agent unhealthy: not pinging the systemd watchdog")
