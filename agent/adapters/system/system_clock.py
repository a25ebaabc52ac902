"""The wall clock and whether it is synchronised: `trust.time_sync` = `kernel` (the kernel's flag, see kernel_time),
`assume` (dev machines and tests: trusted) or `none` (never: only the agent's own sources count).

A date that merely looks sane proves nothing (a saved time a year old looks sane), so no mode guesses from the date.

Test hook (the fault campaign, tests/fault, tests/e2e): if the environment variable LOA_TEST_CLOCK_OFFSET_FILE
names a file, its content (seconds, a float) is added to the wall clock, re-read at most every 0.2 s, so a test can
make the clock jump while the agent runs, or start it years behind or ahead. While the offset is not zero the clock
is not synchronised in any mode: the hook plays a clock nobody has set. Only this adapter reads the variable;
nothing else in the agent sees the offset. Must not import the core.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.adapters.system.kernel_time import kernel_synced

MODES = ("kernel", "assume", "none")
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
    def __init__(self, mode: str = "kernel") -> None:
        if mode not in MODES:
            raise ValueError(f"time_sync mode {mode!r}: must be one of {', '.join(MODES)}")
        self.mode = mode
        self._offset = _Offset(os.environ.get(OFFSET_ENV))

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset.now()

    def synced(self) -> bool:
        """'kernel': the kernel's flag; 'assume': always; 'none': never. A test offset makes it unsynchronised."""
        if self._offset.now() != 0 or self.mode == "none":
            return False
        return self.mode == "assume" or kernel_synced()
