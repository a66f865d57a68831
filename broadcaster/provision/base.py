"""What the provisioning modules share: where things go and the error."""

from __future__ import annotations

# Where deploy/pi/install.sh puts things on the Pi.
PI_CONFIG_DIR = "/etc/broadcaster-agent"
PI_STATE_DIR = "/var/lib/broadcaster-agent"
TLS_PORT = 8883


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says what to fix."""
