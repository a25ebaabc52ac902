"""The status page's per-unit password: made at provisioning, stored on the unit only as a scrypt hash.

Format of the hash file (one line): `scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`. scrypt is in the standard
library (hashlib, OpenSSL) and is memory-hard, so a stolen SD card does not give the password away cheaply.
Imports only the standard library; must not import the core, adapters or tools.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: it is read off a printed label
GROUPS, GROUP_LEN = 4, 4  # 16 characters of 31: about 79 bits
N, R, P = 1 << 14, 8, 1  # memory-hard (16 MiB) yet quick enough for a login on a Pi-class unit
SALT_BYTES, HASH_BYTES = 16, 32


def new_password() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LEN)) for _ in range(GROUPS))


def hash_password(password: str, *, n: int = N) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, R, P)
    return "$".join(["scrypt", str(n), str(R), str(P), _b64(salt), _b64(digest)])


def verify(password: str, stored: str) -> bool:
    """Constant-time comparison of the derived key; a malformed hash verifies nothing."""
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        wanted = base64.b64decode(digest, validate=True)
        got = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, wanted)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20),
                          dklen=HASH_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
