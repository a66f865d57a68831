"""What the provisioning modules share: where things go, the error, and atomic file writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Where deploy/pi/install.sh puts things on the Pi.
PI_CONFIG_DIR = "/etc/broadcaster-agent"
PI_STATE_DIR = "/var/lib/broadcaster-agent"
DEFAULT_BROKER_DIR = "instance/mosquitto"
TLS_PORT = 8883


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says what to fix."""


def write_atomic(path: Path, data: bytes | str, mode: int) -> None:
    """Write atomically with ``mode`` (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
