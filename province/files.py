"""Writing secrets and generated files safely (mode 0600 from the first byte, atomic replace, no symlink followed).

Must not import the agent's adapters.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agent.errors import ConfigError

_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_private(path: Path, text: str) -> None:
    """A secret is created 0600 before any byte is written, in a file nobody could have planted (a fresh name opened
    with O_EXCL|O_NOFOLLOW), and replaces the old file atomically. A symlink where the secret goes is refused: someone
    put it there to have the secret land in a file of theirs."""
    if path.is_symlink():
        raise ConfigError(f"{path} is a symbolic link; refusing to put a secret there (remove it if it is yours)")
    _write(path, text, 0o600)


def write_public(path: Path, text: str) -> None:
    """A generated file, replaced atomically (a symlink in its place is replaced, never written through)."""
    _write(path, text, 0o644)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, _NEW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
