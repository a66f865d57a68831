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

The operations as a person runs them (:func:`rotate`, :func:`retire`, :func:`republish`) are
shared by ``broadcaster keys`` and the web's key page (``web/keys/``): each takes the ring's lock
(two administrators cannot interleave), publishes through the given function (the broker's
retained ``…/keys``: :func:`broker_publisher`), records the list, and notes who did it in
``<stem>.journal.jsonl`` (and the log).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcaster.wire.commands import KeysUpdate
from broadcaster.wire.files import write_atomic
from broadcaster.wire.signing import Signer, key_id

if TYPE_CHECKING:
    from broadcaster.config import Settings

logger = logging.getLogger(__name__)

KEYS_TTL = timedelta(days=365)
JOURNAL_SHOWN = 20

# Publishes a signed keys message (retained, QoS 1) or raises KeysPublishError.
Publish = Callable[[bytes], None]


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
        self.journal_file = self.key_file.with_name(f"{stem}.journal.jsonl")
        self.lock_file = self.key_file.with_name(f"{stem}.lock")

    def retired_file(self, kid: str) -> Path:
        """Where a key that signed before the last rotation is archived."""
        return self.key_file.with_name(f"{self.key_file.stem}.{kid}.retired.pem")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ring while an operation changes it (processes and threads alike)."""
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

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
        rotation.old.save(self.retired_file(rotation.old.kid))
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

    def keys(self) -> list[KeyState]:
        """Every key the ring knows, for a person: the active one, the ones agents still trust,
        a next key left by a rotation cut short, and the archived ones no longer trusted."""
        version, trusted = self.trusted()
        active = self.active()
        out: list[KeyState] = []
        for public in trusted:
            kid = key_id(public)
            out.append(KeyState(kid, public, "active" if kid == active.kid else "trusted"))
        if active.public_b64 not in trusted:  # only before the first published list
            out.insert(0, KeyState(active.kid, active.public_b64, "active"))
        if self.next_file.exists():
            nxt = Signer.load(self.next_file)
            if nxt.public_b64 not in trusted:
                out.append(KeyState(nxt.kid, nxt.public_b64, "next"))
        known = {k.kid for k in out}
        suffix = ".retired.pem"
        for path in sorted(self.key_file.parent.glob(f"{self.key_file.stem}.*{suffix}")):
            old = Signer.load(path)
            if old.kid not in known:
                out.append(KeyState(old.kid, old.public_b64, "retired"))
                known.add(old.kid)
        return out

    def note(self, action: str, by: str, at: datetime, **details: Any) -> None:
        """Append who did what to the journal (and say it in the log)."""
        entry = {"at": at.isoformat(), "action": action, "by": by, **details}
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        with self.journal_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        logger.info("keys: %s by %s %s", action, by or "?", details)

    def journal(self, limit: int = JOURNAL_SHOWN) -> list[dict[str, Any]]:
        """The newest ``limit`` journal entries, newest first (unreadable lines skipped)."""
        try:
            lines = self.journal_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
            if len(entries) >= limit:
                break
        return entries


@dataclass(frozen=True)
class KeyState:
    """A key as a person sees it: ``state`` is ``active`` (signs now), ``trusted`` (agents
    still accept it: retire it once every site has the newest list), ``next`` (made by a
    rotation that did not finish; rotating again uses it) or ``retired``."""

    kid: str
    public: str
    state: str


class KeysPublishError(RuntimeError):
    """The keys message did not reach the broker (nothing was changed)."""


def broker_publisher(settings: Settings) -> Publish:
    """Publish on the broker's retained ``…/keys`` topic over a connection of its own, and wait
    for the broker's PUBACK (KeysPublishError otherwise)."""

    def publish(payload: bytes) -> None:
        from broadcaster.mqtt import Link, PublishError, unique_client_id
        from broadcaster.wire.topics import Topics

        conn = Link(settings.mqtt_options(), unique_client_id("keys"))
        try:
            if not conn.start(wait=10):
                raise KeysPublishError(
                    f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} not reachable"
                )
            conn.publish(Topics(settings.topic_root).keys(), payload, qos=1, retain=True)
        except PublishError as exc:
            raise KeysPublishError(str(exc)) from None
        finally:
            conn.stop()

    return publish


def rotate(
    ring: KeyRing, now: datetime, publish: Publish, *, by: str, ttl: timedelta = KEYS_TTL
) -> Rotation:
    """Make the next key, publish old + new signed by the old key, then sign with the new one
    (the old key stays trusted until :func:`retire`)."""
    with ring.lock():
        rotation = ring.begin_rotation(now, ttl)
        publish(rotation.message)
        ring.finish_rotation(rotation)
        ring.note(
            "rotate",
            by,
            now,
            old=rotation.old.kid,
            new=rotation.new.kid,
            version=rotation.update.version,
        )
    return rotation


def retire(
    ring: KeyRing,
    kid: str,
    now: datetime,
    publish: Publish,
    *,
    by: str,
    ttl: timedelta = KEYS_TTL,
) -> KeysUpdate:
    """Publish the list without ``kid``, signed by the active key, and record it (ValueError:
    ``kid`` is the active key or not trusted)."""
    with ring.lock():
        update, message = ring.retire(kid, now, ttl)
        publish(message)
        ring.record(update)
        ring.note("retire", by, now, kid=kid, version=update.version)
    return update


def republish(ring: KeyRing, now: datetime, publish: Publish, *, by: str) -> KeysUpdate:
    """Publish the current list again (retained), e.g. after the broker lost it."""
    with ring.lock():
        update, message = ring.current_message(now)
        publish(message)
        ring.record(update)
        ring.note("publish", by, now, version=update.version)
    return update
