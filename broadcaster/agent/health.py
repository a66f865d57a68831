"""Health probes for the heartbeat status, standard library only; each returns None when the
system does not tell (not Linux, no thermal zone, no adjtimex)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import resource
import time
from pathlib import Path

logger = logging.getLogger(__name__)

THERMAL = Path("/sys/class/thermal")
TIME_ERROR = 5  # adjtimex(): clock not synchronized
STA_NANO = 0x2000  # adjtimex(): offset in ns, not us


def cpu_temp_c(root: Path = THERMAL) -> float | None:
    """The first thermal zone (the SoC on a Raspberry Pi), in degrees Celsius."""
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            return round(int((zone / "temp").read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            continue
    return None


def disk_free_bytes(path: str | os.PathLike[str]) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux); trailing padding as in glibc.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def clock_state() -> tuple[float | None, bool | None]:
    """(NTP offset in ms, synchronized?) as the kernel reports them (read-only adjtimex)."""
    libc = _libc()
    if libc is None:
        return None, None
    try:
        tx = _Timex()  # modes = 0: read only, needs no privilege
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None, None
    if state < 0:
        return None, None
    divisor = 1e6 if tx.status & STA_NANO else 1e3
    return round(tx.offset / divisor, 3), state != TIME_ERROR


def process_cpu_s() -> float:
    """CPU seconds (user + system) used by this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes(pid: int | None = None) -> int | None:
    """Resident set size of a process (default: this one) from /proc."""
    try:
        text = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


class Uptime:
    def __init__(self) -> None:
        self._began = time.monotonic()

    def seconds(self) -> int:
        return int(time.monotonic() - self._began)
