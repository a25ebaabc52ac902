"""A provisioned card: `loa provision --hw fake` for one unit, then flash.sh writing a base image (tests/image/base.py)
with that bundle, the wheelhouse for the image's architecture and the Debian packages first boot installs. Shared by
the booted-unit test and the arm64 benchmark; also reads the agent's memory inside a booted guest.

Test helper: imports nothing from agent; runs `loa provision` and flash.sh as a technician would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.image.guest import HOST_FROM_GUEST, Machine

REPO = Path(__file__).resolve().parents[2]
FLASH_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}  # Debian's names and the kernel's (flash.sh, pip)


@dataclass
class Card:
    disk: Path
    bundle: Path
    work: Path


@dataclass
class GuestUnit:
    """What UnitWatch needs of a unit: its id, and its log when an assertion fails."""

    device_id: str
    machine: Machine

    def output(self) -> str:
        try:
            return self.machine.run("journalctl -b --no-pager -n 200 -o short-monotonic", 60).out
        except (OSError, RuntimeError, TimeoutError):
            return self.machine.console()


def provision_and_flash(work: Path, base: Path, arch: str, device: str, trust: Path, broker_port: int,
                        broker_dir: Path) -> Card:
    """The unit's bundle (its broker at the host's loopback as the guest sees it) flashed onto work/card.img."""
    loa = [sys.executable, "-m", "tools.cli"]
    subprocess.run([*loa, "provision", device, "--trust", str(trust), "--hw", "fake",
                    "--broker", f"mqtt://{HOST_FROM_GUEST}:{broker_port}", "--broker-dir", str(broker_dir),
                    "--group", "commune-a", "--out", str(work / "bundle")], cwd=REPO, check=True, capture_output=True)
    flashed = subprocess.run(["bash", str(REPO / "flash.sh"), "--image", str(base / "disk.img"),
                              "--target", str(work / "card.img"), "--bundle", str(work / "bundle"),
                              "--arch", FLASH_ARCH[arch], "--debs", str(base / "debs"), "--lang", "en"],
                             capture_output=True, text=True, env={**os.environ, "LOA_PYTHON": sys.executable},
                             stdin=subprocess.DEVNULL, timeout=900, check=False)
    if flashed.returncode != 0:
        raise RuntimeError("flash.sh failed: " + flashed.stdout[-3000:] + flashed.stderr)
    return Card(work / "card.img", work / "bundle", work)


def agent_memory(machine: Machine) -> dict[str, object]:
    """The running agent's memory as tools.bench.idle reports it on a host (RSS, its anonymous and file-backed
    parts, libVLC's plugin cache as mapped), read from /proc inside the guest; also how much of it is transparent
    huge pages and the kernel's THP mode (`always` backs any large anonymous mapping with 2 MiB pages)."""
    pid = machine.run("systemctl show -p MainPID --value loa-agent").out.strip()
    status = machine.run(f"grep -E '^(VmRSS|RssAnon|RssFile):' /proc/{pid}/status; "
                         f"grep '^AnonHugePages:' /proc/{pid}/smaps_rollup").out
    kib = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in status.splitlines()) if v.strip()}
    cache = machine.run(f"grep -m 1 '/plugins.dat$' /proc/{pid}/maps").out.split()
    thp = machine.run("cat /sys/kernel/mm/transparent_hugepage/enabled").out.strip()
    return {"pid": int(pid), "rss_mib": mib(kib["VmRSS"]), "anon_rss_mib": mib(kib["RssAnon"]),
            "file_rss_mib": mib(kib["RssFile"]), "anon_huge_pages_mib": mib(kib.get("AnonHugePages", 0)),
            "thp": thp, "vlc_plugin_cache": cache[-1] if cache else None}


def mib(kib: int) -> float:
    return round(kib / 1024, 1)
