"""broadcaster: the core and the wire.

Importing this package must stay cheap and dependency-free: the Pi agent imports
``broadcaster.wire`` and ``broadcaster.agent`` only (standard library, paho-mqtt,
cryptography).
"""

__version__ = "0.1.0"
