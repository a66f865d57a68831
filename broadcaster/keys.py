"""The server's signing keys: the active Ed25519 key on disk, the list of keys agents trust, and
rotation without touching a Pi.

* ``signing_key_file`` (PEM, 0600) is the active key: everything the server publishes is signed
  with it.
* ``<signing_key_file stem>.trusted.json`` next to it holds the trusted list agents were last told
  (``{"version": N, "keys": [base64 public keys]}``); without it the list is just the active key.
* ``rotate`` makes a new key (kept as ``<stem>.next.pem`` until the rotation completes), signs a
  ``KeysUpdate`` listing old + new **with the old key**, and, once that is published, makes the
  new key active (the old one is archived as ``<stem>.<kid>.retired.pem``). ``retire`` drops a key
  from the list, signed by the active key. Agents learn both from the retained ``…/keys`` topic.

Processes that sign (scheduler, ingest, web) should use :func:`following_signer`, which re-reads
the key file when it changes, so they sign with the new key right after ``keys rotate``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcaster.wire.commands import KeysUpdate
from broadcaster.wire.files import write_atomic
from broadcaster.wire.signing import Signer, key_id

logger = logging.getLogger(__name__)

KEYS_TTL = timedelta(days=365)


def load_or_create_signer(path: str | Path) -> Signer:
    """Load the Ed25519 key at ``path``, creating it (mode 0600) if it does not exist."""
    p = Path(path)
    if p.exists():
        return Signer.load(p)
    signer = Signer.generate()
    try:
        signer.save(p, exclusive=True)
    except FileExistsError:  # another process (a web worker) created it first: use theirs
        return Signer.load(p)
    logger.warning("created a new server signing key %s (key id %s)", p, signer.kid)
    return signer


class FollowingSigner(Signer):
    """A :class:`Signer` that re-reads its key file whenever the file changes (``keys rotate``
    replaces it atomically), so a long-running process signs with the active key."""

    def __init__(self, path: str | Path) -> None:  # no dataclass __init__: the key is a property
        object.__setattr__(self, "_path", Path(path))
        object.__setattr__(self, "_stamp", None)
        object.__setattr__(self, "_key", None)
        object.__setattr__(self, "_reload_lock", threading.Lock())
        self._reload()

    def _reload(self) -> Ed25519PrivateKey:
        with self._reload_lock:  # type: ignore[attr-defined]
            try:
                st = os.stat(self._path)  # type: ignore[attr-defined]
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp is None or stamp != self._stamp or self._key is None:  # type: ignore[attr-defined]
                signer = load_or_create_signer(self._path)  # type: ignore[attr-defined]
                if self._key is not None and signer.kid != key_id(_pub(self._key)):  # type: ignore[attr-defined]
                    logger.warning("signing key changed: now key id %s", signer.kid)
                st = os.stat(self._path)  # type: ignore[attr-defined]
                object.__setattr__(self, "_key", signer.private_key)
                object.__setattr__(self, "_stamp", (st.st_ino, st.st_mtime_ns, st.st_size))
            return self._key  # type: ignore[attr-defined,no-any-return]

    @property  # type: ignore[override]
    def private_key(self) -> Ed25519PrivateKey:
        return self._reload()

    def __repr__(self) -> str:
        return f"FollowingSigner({str(self._path)!r}, kid={self.kid})"  # type: ignore[attr-defined]


def _pub(key: Ed25519PrivateKey) -> str:
    return Signer(key).public_b64


def following_signer(path: str | Path) -> Signer:
    """The signer long-running processes should use (see :class:`FollowingSigner`)."""
    return FollowingSigner(path)


@dataclass(frozen=True)
class Rotation:
    """A rotation prepared by :meth:`KeyRing.begin_rotation`: publish ``message`` (signed by
    ``old``), then :meth:`KeyRing.finish_rotation`."""

    old: Signer
    new: Signer
    update: KeysUpdate
    message: bytes


class KeyRing:
    """The active key file and the trusted list next to it."""

    def __init__(self, key_file: str | Path) -> None:
        self.key_file = Path(key_file)
        stem = self.key_file.stem
        self.trusted_file = self.key_file.with_name(f"{stem}.trusted.json")
        self.next_file = self.key_file.with_name(f"{stem}.next.pem")

    def active(self) -> Signer:
        return load_or_create_signer(self.key_file)

    def trusted(self) -> tuple[int, list[str]]:
        """(version, public keys) agents were last told; (0, [active]) before any rotation."""
        if self.trusted_file.exists():
            data = json.loads(self.trusted_file.read_text(encoding="utf-8"))
            return int(data["version"]), [str(k) for k in data["keys"]]
        return 0, [self.active().public_b64]

    def _save_trusted(self, version: int, keys: list[str]) -> None:
        write_atomic(
            self.trusted_file, json.dumps({"version": version, "keys": keys}, indent=2) + "\n"
        )

    def _update(self, keys: list[str], now: datetime, ttl: timedelta, bump: bool) -> KeysUpdate:
        version, _ = self.trusted()
        if bump:
            version = max(version + 1, int(now.timestamp() * 1000))
        return KeysUpdate(version=version, issued_at=now, expires_at=now + ttl, keys=tuple(keys))

    # -- operations ---------------------------------------------------------------------------

    def begin_rotation(self, now: datetime, ttl: timedelta = KEYS_TTL) -> Rotation:
        """Make (or reuse, if a rotation was cut short) the next key and the signed list of
        old + new, signed by the active (old) key. Nothing changes on disk but ``.next.pem``."""
        old = self.active()
        if self.next_file.exists():
            new = Signer.load(self.next_file)
        else:
            new = Signer.generate()
            new.save(self.next_file)
        _, keys = self.trusted()
        if old.public_b64 not in keys:
            keys.append(old.public_b64)
        if new.public_b64 not in keys:
            keys.append(new.public_b64)
        update = self._update(keys, now, ttl, bump=True)
        return Rotation(old, new, update, old.sign(update.to_dict()))

    def finish_rotation(self, rotation: Rotation) -> None:
        """After the list is published: record it, archive the old key, activate the new one
        (an atomic rename, which following signers notice)."""
        self._save_trusted(rotation.update.version, list(rotation.update.keys))
        archive = self.key_file.with_name(f"{self.key_file.stem}.{rotation.old.kid}.retired.pem")
        rotation.old.save(archive)
        os.replace(self.next_file, self.key_file)
        logger.info("signing key rotated: %s → %s", rotation.old.kid, rotation.new.kid)

    def retire(
        self, kid: str, now: datetime, ttl: timedelta = KEYS_TTL
    ) -> tuple[KeysUpdate, bytes]:
        """The list without key ``kid``, signed by the active key (publish, then
        :meth:`record`). The active key cannot be retired."""
        active = self.active()
        if kid == active.kid:
            raise ValueError(f"key {kid} is the active signing key; rotate first")
        _, keys = self.trusted()
        remaining = [k for k in keys if key_id(k) != kid]
        if len(remaining) == len(keys):
            raise ValueError(f"key {kid} is not in the trusted list")
        update = self._update(remaining, now, ttl, bump=True)
        return update, active.sign(update.to_dict())

    def current_message(self, now: datetime, ttl: timedelta = KEYS_TTL) -> tuple[KeysUpdate, bytes]:
        """The current list, signed by the active key (to publish again). Before any rotation
        it is published as version 1."""
        version, keys = self.trusted()
        update = KeysUpdate(
            version=max(version, 1), issued_at=now, expires_at=now + ttl, keys=tuple(keys)
        )
        return update, self.active().sign(update.to_dict())

    def record(self, update: KeysUpdate) -> None:
        self._save_trusted(update.version, list(update.keys))

    def describe(self) -> dict[str, Any]:
        version, keys = self.trusted()
        active = self.active()
        return {
            "active": active.kid,
            "version": version,
            "keys": [
                {"kid": key_id(k), "public": k, "active": key_id(k) == active.kid} for k in keys
            ],
        }
