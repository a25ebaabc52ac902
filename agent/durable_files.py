"""Small file operations that adapters share for crash safety: fsync a folder after a rename, hash a file.

Standard library only. Must not import the core, the runtime or any adapter.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` survive a power cut (the folder's entry is on disk, not only the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
