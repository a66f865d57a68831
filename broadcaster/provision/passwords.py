"""Password hashes the brokers check, made in-process (no ``mosquitto_passwd`` per site).

- Mosquitto 2: ``$7$<iterations>$<salt>$<hash>``, PBKDF2-HMAC-SHA512, 12-byte salt, base64 with
  padding: exactly what ``mosquitto_passwd -U`` writes (checked against it in the tests).
- NATS: bcrypt (``$2a$``), the only hash ``nats-server`` checks.

Agents' passwords are 24 random bytes (``secrets.token_urlsafe(24)``, 192 bits), so a hash only
keeps the plain text out of the broker's files; no work factor makes a guess likelier or less
likely. That is why the work factors are low: Mosquitto's own default (101 iterations), and
bcrypt cost 4, which a NATS node pays again at every agent's connect (5,000 agents moving to a
node that survived a failure). docs/decisions.md, "Bulk provisioning".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default (Mosquitto 2.0)
MOSQUITTO_SALT_BYTES = 12
BCRYPT_COST = 4


def mosquitto_hash(password: str, *, iterations: int = MOSQUITTO_ITERATIONS) -> str:
    salt = os.urandom(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_verify(password: str, hashed: str) -> bool:
    """True if ``hashed`` (a ``$7$`` line's hash) is ``password``'s; False for another form."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    except ValueError:
        return False
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(mine, digest)


def bcrypt_hash(password: str, *, cost: int = BCRYPT_COST) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost, prefix=b"2a")).decode()


def bcrypt_verify(password: str, hashed: str) -> bool:
    import bcrypt

    if not hashed.startswith("$2"):
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False
