"""The unit's health readings from the files Linux gives (thermal zone, hwmon power monitor, a power-supply flag,
the state folder's filesystem, the default route): one `read()` -> the readings of a UnitReadings event.

Each reading that cannot be made is None (a board without that sensor, a driver not bound): never an exception,
so one missing sensor never hides the others. Standard library only; the GPIO mains input is in mains_gpio.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Flag = Callable[[], "bool | None"]
Watts = Callable[[], "float | None"]
# Interface name prefixes of the kernel's and udev's naming: wwan/wwp (cellular modems), ppp (a PPP session over a
# modem), usb (RNDIS/ECM modems such as the Huawei E3372 HiLink), wl (wifi), eth/en (wired).
LINK_PREFIXES = (("wwan", "cellular"), ("wwp", "cellular"), ("ppp", "cellular"), ("usb", "cellular"),
                 ("wl", "wifi"), ("eth", "ethernet"), ("en", "ethernet"))


def temp_c(path: Path) -> float | None:
    """A thermal zone's `temp` file (millidegrees Celsius), to 0.1 degree."""
    text = _text(path)
    return None if text is None or not text.lstrip("-").isdigit() else round(int(text) / 1000, 1)


def storage(folder: Path) -> tuple[int, int] | None:
    """Used and total bytes of the filesystem holding `folder` (as `df` counts them: root's reserve is not free)."""
    try:
        st = os.statvfs(folder)
    except OSError as exc:
        log.debug("storage: %s", exc)
        return None
    total = st.f_blocks * st.f_frsize
    return total - st.f_bfree * st.f_frsize, total


def link_type(route: Path = Path("/proc/net/route"), net: Path = Path("/sys/class/net")) -> str | None:
    """cellular, ethernet or wifi: the kind of the interface that holds the default route (lowest metric)."""
    text = _text(route)
    if text is None:
        return None
    defaults = [f for f in (line.split() for line in text.splitlines()[1:]) if len(f) > 6 and f[1] == "00000000"]
    if not defaults:
        return None
    iface = min(defaults, key=lambda f: int(f[6]))[0]
    if (net / iface / "wireless").exists():
        return "wifi"
    return next((kind for prefix, kind in LINK_PREFIXES if iface.startswith(prefix)), None)


def file_flag(path: Path) -> Flag:
    """A sysfs flag such as /sys/class/power_supply/<name>/online: 1 -> True, 0 -> False."""
    def read() -> bool | None:
        text = _text(path)
        return None if text not in ("0", "1") else text == "1"
    return read


def hwmon_watts(root: Path, name: str) -> Watts:
    """The power1_input (microwatts) of the hwmon device called `name` (ina219, ina226...), found at each read:
    hwmon numbers change between boots."""
    def read() -> float | None:
        for dev in sorted(root.glob("hwmon*")):
            if _text(dev / "name") == name:
                text = _text(dev / "power1_input")
                return None if text is None or not text.isdigit() else round(int(text) / 1_000_000, 1)
        return None
    return read


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        log.debug("%s: %s", path, exc)
        return None


class UnitSensors:
    """The readings a unit reports: `read()` from its own thread (reads may block on a slow bus)."""

    def __init__(self, state_dir: Path, *, thermal_zone: Path | None = None, mains: Flag | None = None,
                 amp_w: Watts | None = None, link: Callable[[], str | None] = link_type) -> None:
        self.state_dir, self.thermal_zone, self.mains, self.amp_w, self.link = state_dir, thermal_zone, mains, amp_w, link

    def read(self) -> dict[str, object]:
        used_total = storage(self.state_dir)
        return {
            "temp_c": temp_c(self.thermal_zone) if self.thermal_zone else None,
            "mains": self.mains() if self.mains else None,
            "amp_w": self.amp_w() if self.amp_w else None,
            "storage_used_bytes": used_total[0] if used_total else None,
            "storage_total_bytes": used_total[1] if used_total else None,
            "link_type": self.link(),
        }

    def close(self) -> None:
        """Releases what the readers hold (the mains GPIO input); a read after this says None."""
        close = getattr(self.mains, "close", None)
        if callable(close):
            close()
