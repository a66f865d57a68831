"""The broker kinds provisioning writes for (the ``broker_kind`` setting), by name."""

from __future__ import annotations

from pathlib import Path

from broadcaster.config import BROKER_KINDS

from .base import ProvisionError
from .broker_files import BrokerDir, BrokerFiles
from .nats_files import NatsFiles

_BY_KIND: dict[str, type[BrokerDir]] = {"mosquitto": BrokerFiles, "nats": NatsFiles}
assert tuple(_BY_KIND) == BROKER_KINDS, "broadcaster.config.BROKER_KINDS and _BY_KIND differ"


def broker_files(kind: str, root: Path) -> BrokerDir:
    """The provisioned files of a ``kind`` broker in ``root``."""
    try:
        return _BY_KIND[kind](root)
    except KeyError:
        raise ProvisionError(
            f"unknown broker kind {kind!r} (one of {', '.join(BROKER_KINDS)})"
        ) from None
