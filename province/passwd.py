"""Mosquitto's password file, written in Python: the `$7$` PBKDF2-SHA512 hash `mosquitto_passwd` makes, so that no
password ever goes on a command line (`mosquitto_passwd -b` shows it in /proc/*/cmdline to every local user).

Used by `loa broker` (one identity at a time) and the simulator (thousands at once). Must not run any process.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from province.files import write_private

ITERATIONS = 101  # what mosquitto_passwd 2.0 uses; the broker reads the count from each line
SALT_BYTES = 12


def hash_line(user: str, password: str) -> str:
    """One `user:$7$iterations$salt$hash` line (no newline), as `mosquitto_passwd` writes it."""
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, ITERATIONS)
    return f"{user}:$7${ITERATIONS}${_b64(salt)}${_b64(digest)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln] if path.exists() else []


def put(path: Path, entries: Iterable[tuple[str, str]]) -> None:
    """Add or replace identities (user, password); the other lines are kept as they are."""
    new = {user: hash_line(user, password) for user, password in entries}
    kept = [ln for ln in lines(path) if ln.split(":", 1)[0] not in new]
    write_private(path, "".join(f"{ln}\n" for ln in [*kept, *new.values()]))


def remove(path: Path, user: str) -> None:
    if path.exists():
        write_private(path, "".join(f"{ln}\n" for ln in lines(path) if ln.split(":", 1)[0] != user))
