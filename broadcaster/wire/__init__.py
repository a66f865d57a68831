"""The MQTT wire protocol v1: topics, messages, canonical JSON and Ed25519 signatures.

Shared by the server and the Pi agent, so it imports only the standard library and
``cryptography``.
"""
