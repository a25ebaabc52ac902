"""Writing secrets and generated files safely (mode 0600 from the first byte, atomic replace, no symlink followed).

Uses the agent's one atomic write (agent.adapters.storage.durable_files); must not import tools or sim.
"""

from __future__ import annotations

from pathlib import Path

from agent.adapters.storage.durable_files import write_atomically
from agent.errors import ConfigError


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
    write_atomically(path, text.encode("utf-8"), mode)
