"""The wall clock and whether it is synchronised (systemd-timesyncd's flag file, or assumed).

Must not import the core.
"""

from __future__ import annotations

import time
from pathlib import Path

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
EARLIEST_PLAUSIBLE_S = 1_767_225_600  # 2026-01-01: a clock before this date is surely unset (no RTC, no NTP yet)


class SystemClock:
    def __init__(self, mode: str = "auto") -> None:
        self.mode = mode

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000

    def synced(self) -> bool:
        """'assume': always; 'systemd': timesyncd's flag; 'auto': the flag where timesyncd runs, else a sane date."""
        if self.mode == "assume":
            return True
        if self.mode == "systemd" or TIMESYNC_FLAG.parent.exists():
            return TIMESYNC_FLAG.exists()
        return time.time() > EARLIEST_PLAUSIBLE_S
