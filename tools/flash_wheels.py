"""flash.sh's wheelhouse: Loa as a wheel plus every dependency as a wheel for the unit's architecture and Python,
so the unit's first boot installs Loa with `pip install --no-index` (no package index on a pole's 4G link).

    python -m tools.flash_wheels --out DIR [--arch aarch64|x86_64] [--python 3.11]

Only binary wheels are taken (nothing is compiled on the unit). Standard library only (flash.sh may run it with the
system's Python 3.11+, which needs pip): must not import third-party packages, nor any of Loa except agent.errors.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from agent.errors import LoaError

REPO = Path(__file__).resolve().parents[1]
ARCHES = ("aarch64", "x86_64", "armv7l")
# Debian 12 (Raspberry Pi OS Bookworm) has glibc 2.36: every manylinux tag up to it fits.
GLIBC_MINORS = range(17, 37)


class WheelhouseError(LoaError, OSError):
    """The wheelhouse could not be built; the message says which package or step failed."""

    code = "flash_failed"


def platforms(arch: str) -> list[str]:
    """pip's --platform values for a Debian 12 unit of this architecture (pip does not widen them by itself)."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS]
    return tags + [f"manylinux2014_{arch}"] if arch in ("aarch64", "x86_64") else tags


def build(out: Path, arch: str, python: str, repo: Path = REPO) -> list[Path]:
    """Loa's wheel and its dependencies' wheels in `out`; returns them sorted by name."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()  # exactly today's set: a wheel an older Loa needed must not ride onto every card (pip caches)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(repo))
    loa_wheel = next(out.glob("loa-*.whl"))
    target = [arg for tag in platforms(arch) for arg in ("--platform", tag)]
    _pip("download", "--only-binary=:all:", *target, "--python-version", python, "--implementation", "cp",
         "--dest", str(out), str(loa_wheel))
    return sorted(out.glob("*.whl"))


def _pip(*args: str) -> None:
    run = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise WheelhouseError(f"pip {args[0]} failed: {last}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.flash_wheels", description="flash.sh's wheelhouse")
    p.add_argument("--out", required=True)
    p.add_argument("--arch", choices=ARCHES, default="aarch64")
    p.add_argument("--python", default="3.11", help="the unit's Python (Raspberry Pi OS Bookworm: 3.11)")
    args = p.parse_args(argv)
    try:
        wheels = build(Path(args.out), args.arch, args.python)
    except LoaError as exc:
        print(f"flash.sh: {exc}", file=sys.stderr)
        return 2
    size_mb = sum(w.stat().st_size for w in wheels) / 1e6
    print(f"wheelhouse: {len(wheels)} wheels, {size_mb:.1f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
