"""The Raspberry Pi agent: receives signed plans, pre-fetches and verifies media, plays each
item on its own clock and reports every playback through an on-disk outbox.

Imports only the standard library, paho-mqtt, and broadcaster's ``wire`` (with cryptography),
``clock`` and ``mqtt`` modules. Import each name from the module that defines it (``agent.Agent``,
``config.AgentConfig``, ``main.main``); this package re-exports nothing.
"""
