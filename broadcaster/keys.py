"""The server's signing key on disk."""

from __future__ import annotations

import logging
from pathlib import Path

from broadcaster.wire.signing import Signer

logger = logging.getLogger(__name__)


def load_or_create_signer(path: str | Path) -> Signer:
    """Load the Ed25519 key at ``path``, creating it (mode 0600) if it does not exist."""
    p = Path(path)
    if p.exists():
        return Signer.load(p)
    signer = Signer.generate()
    signer.save(p)
    logger.warning("created a new server signing key %s (key id %s)", p, signer.kid)
    return signer
