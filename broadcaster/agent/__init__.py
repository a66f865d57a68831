"""The Raspberry Pi agent: receives signed plans, pre-fetches and verifies media, plays each
item on its own clock and reports every playback through an on-disk outbox.

Imports only the standard library, paho-mqtt and ``broadcaster.wire``.
"""

from .config import AgentConfig, ConfigError

__all__ = ["AgentConfig", "ConfigError"]
