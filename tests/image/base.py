"""The base card image for the booted-unit test, built by tests/image/build-base.sh and cached between runs under
~/.cache/loa-image (or $LOA_IMAGE_CACHE), keyed by a hash of the builder script and the architecture: a changed
builder makes a new image, an unchanged one is reused (about a minute saved; the mirror is asked nothing).

Test helper: imports nothing from agent; runs the builder script.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

BUILDER = Path(__file__).with_name("build-base.sh")
BOOT_OFFSET = 4 * 1024 * 1024  # where build-base.sh puts the FAT boot partition


def cache_root() -> Path:
    return Path(os.environ.get("LOA_IMAGE_CACHE") or Path.home() / ".cache" / "loa-image")


def key(arch: str) -> str:
    return hashlib.sha256(BUILDER.read_bytes() + arch.encode()).hexdigest()[:16]


def base_image(arch: str = "amd64") -> Path:
    """The folder holding disk.img, vmlinuz, initrd.img and debs/ for `arch`; built once per builder version."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    done = root / f"{arch}-{key(arch)}"
    with (root / f"{arch}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs must not build into the same folder
        if not (done / "disk.img").exists():
            building = root / f"{arch}-{key(arch)}.building"
            log = root / f"{arch}-build.log"
            with log.open("wb") as out:
                run = subprocess.run(["bash", str(BUILDER), str(building), arch], stdout=out, stderr=subprocess.STDOUT,
                                     check=False)
            if run.returncode != 0:
                raise RuntimeError(f"build-base.sh failed ({run.returncode}): {log.read_text()[-3000:]}")
            shutil.rmtree(done, ignore_errors=True)
            building.rename(done)
            for old in root.glob(f"{arch}-*"):  # images of earlier builder versions: some 700 MB each
                if old.is_dir() and old != done:
                    shutil.rmtree(old, ignore_errors=True)
    return done
