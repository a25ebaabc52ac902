"""Helpers for end-to-end update tests: release keys, bundles (good, and broken on purpose from a patched copy of
the agent), a unit started by agent.app.launcher --supervise (standing in for systemd), and serving a bundle."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agent
from tests.conftest import REPO, Unit
from tools import release

UPDATE = {"check_s": 10, "start_s": 25}  # with make_unit(release_trust=...), which writes update.trust


class Releases:
    """Builds bundles with one release key; `patched` releases come from a copy of the agent with one file changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys = root / "release-keys"
        release.keygen(self.keys)

    def build(self, version: str, *, key: Path | None = None, patch: dict[str, Callable[[str], str]] | None = None,
              **options: Any) -> Path:
        source = self._source(version, patch) if patch else None
        out = self.root / f"{version}-{time.monotonic_ns()}.bundle"
        release.build(key or self.keys / release.RELEASE_KEY, version=version, source=source, out=out, **options)
        return out

    def _source(self, version: str, patch: dict[str, Callable[[str], str]]) -> Path:
        src = self.root / f"src-{version}" / "agent"
        shutil.copytree(Path(agent.__file__).parent, src, ignore=shutil.ignore_patterns("__pycache__"))
        for name, change in patch.items():
            path = src / name
            before = path.read_text(encoding="utf-8")
            after = change(before)
            assert after != before, f"the patch of {name} changed nothing"
            path.write_text(after, encoding="utf-8")
        return src

    @property
    def trust(self) -> Path:
        """The release trust a unit is provisioned with."""
        return self.keys / release.RELEASE_TRUST

    def other_key(self) -> Path:
        other = self.root / "intruder-keys"
        if not (other / release.RELEASE_KEY).exists():
            release.keygen(other)
        return other / release.RELEASE_KEY


def corrupt_payload(bundle: Path) -> Path:
    """Flip one byte inside payload.tar.gz: the bundle still reads, its payload no longer matches its signature."""
    data = bytearray(bundle.read_bytes())
    at = len(data) // 2
    data[at] ^= 0xFF
    out = bundle.with_name(bundle.name + ".corrupt")
    out.write_bytes(bytes(data))
    return out


def serve(server: Any, bundle: Path, body: bytes | None = None) -> dict[str, str]:
    """The `update` args for a bundle served by the test HTTP server (body: serve other bytes than the bundle)."""
    data = bundle.read_bytes()
    server.routes.files[bundle.name] = data if body is None else body
    return {"url": server.url(f"/files/{bundle.name}"), "sha256": hashlib.sha256(data).hexdigest()}


def launch(unit: Unit) -> None:
    """Start the unit under the launcher (supervise mode)."""
    out = unit.dir / f"launcher-{len(unit.log)}.log"
    unit.log.append(out)
    unit.proc = subprocess.Popen([sys.executable, "-P", "-m", "agent.app.launcher", "--config", str(unit.config),
                                  "--supervise"], stdout=out.open("wb"), stderr=subprocess.STDOUT, cwd=REPO)

