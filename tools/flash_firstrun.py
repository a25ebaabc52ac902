"""The unit's first-boot step on the card, hooked the way Raspberry Pi Imager customises a Raspberry Pi OS card:
firstrun.sh at the boot partition's root, and cmdline.txt told to run it once (systemd.run=...) and reboot.
agent/systemd/firstrun.sh does the work on the unit and takes the hook out of cmdline.txt when it succeeds.

Standard library only (flash.sh runs it with the system's Python): must not import third-party packages, nor any
of Loa except agent.errors and tools.flash_fat.
"""

from __future__ import annotations

from pathlib import Path

from tools.flash_fat import FatPartition, FlashError, get_file, put_file

FIRSTRUN = Path("agent/systemd/firstrun.sh")
HOOK = ("systemd.run=/boot/firmware/firstrun.sh", "systemd.run_success_action=reboot",
        "systemd.unit=kernel-command-line.target")
_HOOK_KEYS = tuple(word.split("=", 1)[0] + "=" for word in HOOK)


def hooked(cmdline: str) -> str:
    """The kernel command line with the first-boot hook at its end, once (a card flashed twice has it once)."""
    words = [w for w in cmdline.split() if not w.startswith(_HOOK_KEYS)]
    return " ".join([*words, *HOOK]) + "\n"


def install(part: FatPartition, repo: Path, work: Path) -> None:
    """Put firstrun.sh on the partition and hook it into cmdline.txt."""
    work.mkdir(parents=True, exist_ok=True)
    try:
        current = get_file(part, "cmdline.txt", work / "cmdline.txt").read_text(encoding="utf-8")
    except FlashError:
        raise FlashError(f"{part.disk}: the boot partition has no cmdline.txt (not a Raspberry Pi OS image?)") from None
    (work / "cmdline.txt").write_text(hooked(current), encoding="utf-8")
    put_file(part, repo / FIRSTRUN, "firstrun.sh")
    put_file(part, work / "cmdline.txt", "cmdline.txt")
