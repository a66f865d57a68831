"""Why an incoming message was refused."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A message that cannot be accepted; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
