"""A unit's bundle folder is built whole or not at all: `loa provision` writes into a fresh hidden folder beside
it and renames that into place at the end, so a failure (a refused option, a full disk, Ctrl-C) leaves no
half-written bundle behind. An existing unit (a config.toml in the folder) is replaced only when forced.

Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import ConfigError

CONFIG = "config.toml"


def refuse_existing(out: Path, force: bool) -> None:
    """Asked before anything is made (keys, certificates, broker entries): an existing unit needs --force, and a
    link planted in the folder is never written through."""
    if (out / CONFIG).exists() and not force:
        raise ConfigError(f"{out} already holds a unit's bundle; re-provision it with --force (its old keys and "
                          "password stop working)")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ConfigError(f"--out {out}: not a folder (a file or a symbolic link is there)")
    links = sorted(p.name for p in out.iterdir() if p.is_symlink()) if out.is_dir() else []
    if links:
        raise ConfigError(f"{out}: {', '.join(links)} is a symbolic link; refusing to put a bundle there")


@contextmanager
def building(out: Path, force: bool) -> Iterator[Path]:
    """A fresh folder to write the bundle into; it becomes `out` when the block ends without an error."""
    refuse_existing(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        new = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
        new.chmod(0o755)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write a bundle there ({exc.strerror or exc})") from None
    try:
        yield new
        _install(new, out, force)
    finally:
        shutil.rmtree(new, ignore_errors=True)


def _install(new: Path, out: Path, force: bool) -> None:
    if not out.exists() or not any(out.iterdir()):
        os.replace(new, out)  # an empty folder is replaced in one rename
    elif (out / CONFIG).exists():
        _swap(new, out, force)
    else:
        _merge(new, out)


def _swap(new: Path, out: Path, force: bool) -> None:
    """--force: the old bundle is moved aside, the new one renamed into place, then the old one deleted."""
    refuse_existing(out, force)
    old = out.with_name(f".{out.name}.{secrets.token_hex(4)}.old")
    os.rename(out, old)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(old, out)  # the old bundle goes back: a unit is never left without one
        raise
    shutil.rmtree(old, ignore_errors=True)


def _merge(new: Path, out: Path) -> None:
    """A folder that holds other things (a state folder laid out first) but no bundle: each file is renamed in,
    the config last, so the folder holds no config until everything it names is there; nothing is replaced."""
    taken = sorted(p.name for p in new.iterdir() if (out / p.name).exists() or (out / p.name).is_symlink())
    if taken:
        raise ConfigError(f"{out}: {', '.join(taken)} already there; refusing to mix two bundles")
    moved: list[Path] = []
    try:
        for item in sorted(new.iterdir(), key=lambda p: p.name == CONFIG):
            os.rename(item, out / item.name)
            moved.append(out / item.name)
    except OSError:
        for path in moved:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise
