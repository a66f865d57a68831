"""What the provisioning modules share: where things go and the error."""

from __future__ import annotations

# Where deploy/pi/install.sh puts things on the Pi.
PI_CONFIG_DIR = "/etc/broadcaster-agent"
PI_STATE_DIR = "/var/lib/broadcaster-agent"
TLS_PORT = 8883  # the agents' TLS listener
# The agents' plain listener (`sites mosquitto-conf --agent-port`; 1883 is the server's own).
AGENT_PLAIN_PORT = 1884


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says what to fix."""
