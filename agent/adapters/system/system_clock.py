"""The wall clock and whether it is synchronised (systemd-timesyncd's flag file, or assumed).

Test hook (the fault campaign, tests/fault): if the environment variable LOA_TEST_CLOCK_OFFSET_FILE names a file,
its content (seconds, a float) is added to the wall clock, re-read at most every 0.2 s, so a test can make the
clock jump while the agent runs, or start it years behind (an unsynchronised clock at boot). Only this adapter reads
the variable; nothing else in the agent sees the offset. Must not import the core.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
EARLIEST_PLAUSIBLE_S = 1_767_225_600  # 2026-01-01: a clock before this date is surely unset (no RTC, no NTP yet)
OFFSET_ENV = "LOA_TEST_CLOCK_OFFSET_FILE"
OFFSET_REREAD_S = 0.2


class _Offset:
    """The test hook's offset in ms: 0 without the variable, a missing file or an unreadable one."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.ms, self._read_at = 0, -OFFSET_REREAD_S

    def now(self) -> int:
        if self.path is not None and time.monotonic() - self._read_at >= OFFSET_REREAD_S:
            self._read_at = time.monotonic()
            try:
                self.ms = int(float(self.path.read_text(encoding="utf-8").strip() or 0) * 1000)
            except (OSError, ValueError):
                self.ms = 0
        return self.ms


class SystemClock:
    def __init__(self, mode: str = "auto") -> None:
        self.mode = mode
        self._offset = _Offset(os.environ.get(OFFSET_ENV))

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset.now()

    def synced(self) -> bool:
        """'assume': always; 'systemd': timesyncd's flag; 'auto': the flag where timesyncd runs, else a sane date."""
        if self.mode == "assume":
            return True
        if self.mode == "systemd" or TIMESYNC_FLAG.parent.exists():
            return TIMESYNC_FLAG.exists()
        return self.now_ms() / 1000 > EARLIEST_PLAUSIBLE_S
