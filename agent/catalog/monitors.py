"""A unit's health sensors as data: hw/monitors/<name>.toml says where the board's temperature is read, and which
mains sensor and amplifier power monitor are fitted (none on a bare board: those readings are then null).

Data only: must not import any adapter or hardware library (agent.app.hardware opens the readers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from agent.catalog.boards import HW_DIR, _documented, _Problems, _read, _section
from agent.config.engine import between, checked, one_of


@dataclass(frozen=True)
class MainsSensor:
    """`gpio`: a GPIO input (BCM number) driven by an isolated mains detector; `file`: a sysfs file reading 1 while
    mains is present (a UPS HAT's /sys/class/power_supply/<name>/online)."""

    kind: str = field(metadata=checked(one_of("gpio", "file")))
    bcm: int = field(default=-1, metadata=checked(between(-1, 27)))
    active_high: bool = True
    path: str = ""


@dataclass(frozen=True)
class PowerMonitor:
    """An INA219/INA226-style monitor on the amplifier's supply, read through the kernel's hwmon driver: the
    /sys/class/hwmon/hwmon*/ whose `name` file says `hwmon_name`, its power1_input in microwatts."""

    hwmon_name: str
    hwmon_root: str = "/sys/class/hwmon"


@dataclass(frozen=True)
class Monitor:
    name: str
    title: str
    thermal_zone: str = ""  # millidegrees Celsius; "" when the board has none
    mains: MainsSensor | None = None
    amp_power: PowerMonitor | None = None
    sources: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()


def load_monitor(name: str, hw_dir: Path = HW_DIR) -> Monitor:
    """hw/monitors/<name>.toml, checked; ConfigError listing every problem (or naming the closest description)."""
    path, doc = _read("monitors", name, hw_dir)
    problems = _Problems()
    given = _documented(doc, problems) | {"name": name}
    for key, cls in (("mains", MainsSensor), ("amp_power", PowerMonitor)):
        if key in doc:
            given[key] = _section(cls, doc[key], key, problems)
    table = {k: v for k, v in doc.items() if k in ("title", "thermal_zone")}
    monitor = _section(Monitor, table, "monitor", problems, given)
    mains = given.get("mains")
    if isinstance(mains, MainsSensor) and (mains.kind == "gpio") != (mains.bcm >= 0):
        problems.append("mains: a gpio sensor needs bcm (0..27), a file sensor none")
    if isinstance(mains, MainsSensor) and mains.kind == "file" and not mains.path:
        problems.append("mains: a file sensor needs path")
    problems.raise_if_any(path)
    return cast(Monitor, monitor)
