"""The FAT boot partition inside a disk or an image file, reached without mounting: the partition's byte offset
from `sfdisk --json`, files in and out with mtools (`IMAGE@@OFFSET`).

Standard library only (flash.sh runs it with the system's Python): must not import third-party packages, nor any
of Loa except agent.errors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import LoaError

# MBR type codes and GPT type GUIDs of FAT partitions (a Raspberry Pi image's boot partition is MBR type 0x0c).
FAT_TYPES = {"1", "4", "6", "b", "c", "e", "ef",
             "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"}
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1"}  # images made by mkfs tools may have geometry mtools would complain about


class FlashError(LoaError, OSError):
    """Writing or checking the card or image failed; the message says what to do."""

    code = "flash_failed"


@dataclass(frozen=True)
class FatPartition:
    disk: Path
    number: int
    offset: int  # bytes from the start of the disk

    @property
    def drive(self) -> str:
        return f"{self.disk}@@{self.offset}"


def find_boot(disk: Path) -> FatPartition:
    """The first FAT partition of the disk's partition table whose boot sector really is FAT."""
    table = _partition_table(disk)
    sector = int(table.get("sectorsize", 512))
    for number, part in enumerate(table.get("partitions", []), start=1):
        if str(part.get("type", "")).lower() in FAT_TYPES and _is_fat(disk, int(part["start"]) * sector):
            return FatPartition(disk, number, int(part["start"]) * sector)
    raise FlashError(f"no FAT boot partition in {disk}")


def _partition_table(disk: Path) -> dict[str, Any]:
    done = _run(["sfdisk", "--json", str(disk)])
    try:
        table = json.loads(done.stdout)["partitiontable"]
    except (ValueError, KeyError) as exc:
        raise FlashError(f"{disk}: cannot read the partition table ({exc})") from None
    return table if isinstance(table, dict) else {}


def _is_fat(disk: Path, offset: int) -> bool:
    with disk.open("rb") as f:
        f.seek(offset)
        boot = f.read(512)
    return boot[510:512] == b"\x55\xaa" and (boot[54:57] == b"FAT" or boot[82:87] == b"FAT32")


def put_tree(part: FatPartition, source: Path) -> None:
    """Copy the folder `source` to the partition's root (replacing a folder of that name)."""
    _run(["mdeltree", "-i", part.drive, f"::/{source.name}"], check=False)
    _run(["mcopy", "-i", part.drive, "-s", "-Q", "-o", str(source), "::/"])


def get_tree(part: FatPartition, name: str, into: Path) -> Path:
    """Copy ::/name back out of the partition (for the read-back check)."""
    into.mkdir(parents=True, exist_ok=True)
    _run(["mcopy", "-i", part.drive, "-s", "-Q", "-n", f"::/{name}", str(into)])
    return into / name


def get_file(part: FatPartition, name: str, dest: Path) -> Path:
    """Copy ::/name out of the partition; FlashError if it is not there."""
    _run(["mcopy", "-i", part.drive, "-n", f"::/{name}", str(dest)])
    return dest


def put_file(part: FatPartition, source: Path, name: str) -> None:
    """Copy a file to ::/name, replacing it."""
    _run(["mcopy", "-i", part.drive, "-o", str(source), f"::/{name}"])


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    if shutil.which(cmd[0]) is None:
        raise FlashError(f"{cmd[0]} is not installed (apt-get install {'fdisk' if cmd[0] == 'sfdisk' else 'mtools'})")
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ, **MTOOLS_ENV})
    if check and done.returncode != 0:
        raise FlashError(f"{' '.join(cmd[:2])} failed: {done.stderr.strip() or done.returncode}")
    return done
