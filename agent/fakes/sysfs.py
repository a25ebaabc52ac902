"""A stand-in for the kernel files the unit's health sensors read (agent.adapters.system.unit_sensors): a folder
laid out like / (sys/class/thermal, sys/class/hwmon, sys/class/power_supply, sys/class/net, proc/net/route), given
to the agent as `[hardware] sysfs_root`. The real reader then runs unchanged over it, in-process or in an agent
process (a test's, the demo's). Records every write; a fault is a file removed or overwritten (a driver unbound).

Must not import the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROUTE_HEAD = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"


@dataclass
class FakeSysfs:
    root: Path
    history: list[tuple[str, str]] = field(default_factory=list)  # (path under root, text written)

    def temp_c(self, degrees: float, zone: int = 0) -> None:
        self._write(f"sys/class/thermal/thermal_zone{zone}/temp", str(round(degrees * 1000)))

    def amp_w(self, watts: float, name: str = "ina219", index: int = 0) -> None:
        self._write(f"sys/class/hwmon/hwmon{index}/name", name)
        self._write(f"sys/class/hwmon/hwmon{index}/power1_input", str(round(watts * 1_000_000)))

    def default_route(self, iface: str, *, wireless: bool = False, metric: int = 0) -> None:
        self._write("proc/net/route", ROUTE_HEAD + f"{iface}\t00000000\t0102A8C0\t0003\t0\t0\t{metric}\t00000000\t0\t0\t0\n")
        (self.root / "sys/class/net" / iface).mkdir(parents=True, exist_ok=True)
        if wireless:
            (self.root / "sys/class/net" / iface / "wireless").mkdir(exist_ok=True)

    def _write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="ascii")  # as the kernel shows it
        self.history.append((relative, text))
