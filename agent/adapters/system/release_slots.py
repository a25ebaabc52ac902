"""The A/B release slots of a unit and the markers the agent and the launcher share, under <state>/releases:

  a/, b/        an unpacked release: agent/ (the package) and release.json (its checked metadata and slot name)
  current       a symlink to a or b, switched by rename (atomic); absent: the installed package runs ("base")
  trial.json    a release on trial: {jti, version, slot, previous, from_version, state: pending | trying}
  outcome.json  why a trial was rolled back, kept until the rolled-back version has queued its report
  downloads/    the bundle cache (agent.adapters.audio.download_cache)

Every marker write is temp file + fsync + rename + folder fsync, so a power cut leaves the old or the new file.
Must not import the core's decisions, paho, vlc or sqlite3.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import agent
from agent.adapters.storage.durable_files import fsync_dir, write_atomically
from agent.adapters.system.release_bundle import BundleError, unpack_payload
from agent.errors import LoaError

SLOTS = ("a", "b")
BASE = "base"
RELEASE_JSON = "release.json"


class InstallError(LoaError, OSError):
    """A release cannot be written into its slot, or a marker cannot be written (full disk, read-only card)."""

    code = "install_failed"


def write_json(path: Path, value: dict[str, Any]) -> None:
    try:
        write_atomically(path, json.dumps(value, ensure_ascii=False).encode())
    except OSError as exc:
        raise InstallError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_json(path: Path) -> dict[str, Any] | None:
    """The marker, or None when it is absent or unreadable (a damaged marker must not stop the unit)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class ReleaseSlots:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.trial_file, self.outcome_file = self.root / "trial.json", self.root / "outcome.json"
        self.downloads = self.root / "downloads"

    # ---- slots ---------------------------------------------------------------------------------------------

    def current(self) -> str:
        try:
            target = os.readlink(self.root / "current")
        except OSError:
            return BASE
        return target if target in SLOTS and (self.root / target / RELEASE_JSON).is_file() else BASE

    def code_dir(self, slot: str) -> Path | None:
        """The folder to put first on the import path for a slot; None for the installed package."""
        return (self.root / slot).resolve() if slot in SLOTS else None

    def switch(self, slot: str) -> None:
        """Point `current` at a slot (or remove it for base) in one atomic step."""
        link = self.root / "current"
        try:
            if slot not in SLOTS:
                link.unlink(missing_ok=True)
            else:
                tmp = self.root / ".current.tmp"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(slot)
                tmp.replace(link)
            fsync_dir(self.root)
        except OSError as exc:
            raise InstallError(f"cannot switch {link} to {slot}: {exc.strerror or exc}") from None

    def install(self, slot: str, bundle: Path, meta: dict[str, Any], *, max_bytes: int) -> int:
        """Unpack into <slot>.new, then replace the slot; never the slot that runs. Returns the number of files."""
        if slot not in SLOTS or slot == self.current():
            raise InstallError(f"slot {slot!r} cannot be installed into (it runs, or it is not a or b)")
        final, staging = self.root / slot, self.root / f"{slot}.new"
        try:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            files = unpack_payload(bundle, staging, max_bytes=max_bytes)
            write_json(staging / RELEASE_JSON, {**meta, "slot": slot})
            os.sync()  # every unpacked file is on the card before the slot may be switched to
            shutil.rmtree(final, ignore_errors=True)
            staging.replace(final)
            fsync_dir(self.root)
        except BundleError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise InstallError(f"cannot install into slot {slot}: {exc.strerror or exc}") from None
        return files

    # ---- markers -------------------------------------------------------------------------------------------

    def read_trial(self) -> dict[str, Any] | None:
        return read_json(self.trial_file)

    def write_trial(self, marker: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.trial_file, marker)

    def clear_trial(self) -> None:
        self._remove(self.trial_file)

    def read_outcome(self) -> dict[str, Any] | None:
        return read_json(self.outcome_file)

    def write_outcome(self, outcome: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.outcome_file, outcome)

    def clear_outcome(self) -> None:
        self._remove(self.outcome_file)

    def _remove(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
            fsync_dir(path.parent)
        except FileNotFoundError:
            pass  # the folder itself is gone: nothing to remove
        except OSError as exc:
            raise InstallError(f"cannot remove {path}: {exc.strerror or exc}") from None


def running_release(package_dir: Path | None = None) -> tuple[str, str]:
    """(slot, version) of the code running now: a slot's release.json sits next to its `agent` package."""
    here = Path(package_dir or Path(agent.__file__).resolve().parent)
    meta = read_json(here.parent / RELEASE_JSON)
    if meta and meta.get("slot") in SLOTS and isinstance(meta.get("version"), str):
        return str(meta["slot"]), str(meta["version"])
    return BASE, agent.__version__
