"""The agent's own corrected time: the system clock plus the offset the time rule (agent.core.timekeeping) chose.

The agent runs without the right to set the system clock (ProtectClock=yes). It never needs it: everything it
schedules counts on this clock, which adds the trusted source's offset to the system clock, and while no source is
trusted reads the system clock but never earlier than the time floor (the newest `iat` of a verified command).

Sources report from their own threads (`observe`); the system clock's own synchronisation (the kernel's flag, set by
timesyncd or chrony, or assumed on a dev machine) counts as the `system` source. Thread-safe; the verdict is worked
out again after every reading and at most every RECHECK_MS otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from agent.core.timekeeping import SYSTEM, UNTRUSTED, Reading, Verdict, judge

RECHECK_MS = 1000
SYSTEM_ERROR_MS = 500


class SystemTime(Protocol):
    def now_ms(self) -> int: ...
    def synced(self) -> bool: ...


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class TrustedClock:
    """Implements agent.ports.Clock (now_ms, synced, verdict, observe, raise_floor)."""

    def __init__(self, system: SystemTime, *, floor_ms: int = 0, monotonic_ms: Callable[[], int] = _monotonic_ms) -> None:
        self.system, self._mono = system, monotonic_ms
        self._lock = threading.Lock()
        self._readings: dict[str, Reading] = {}
        self._floor_ms = floor_ms
        self._verdict = UNTRUSTED
        self._judged_at: int | None = None

    def observe(self, source: str, true_ms: int, error_ms: int = 1000) -> None:
        """A source's reading, taken just now (any thread)."""
        with self._lock:
            self._readings[source] = Reading(source, int(true_ms), self._mono(), int(error_ms))
            self._judged_at = None

    def raise_floor(self, floor_ms: int) -> None:
        """A verified command's `iat`: the true time is at least this."""
        with self._lock:
            if floor_ms > self._floor_ms:
                self._floor_ms, self._judged_at = floor_ms, None

    def verdict(self) -> Verdict:
        with self._lock:
            mono = self._mono()
            if self._judged_at is None or mono - self._judged_at >= RECHECK_MS:
                system_now = self.system.now_ms()
                readings = list(self._readings.values())
                if self.system.synced():
                    readings.append(Reading(SYSTEM, system_now, mono, SYSTEM_ERROR_MS))
                self._verdict, self._judged_at = judge(readings, mono, system_now, self._floor_ms), mono
            return self._verdict

    def now_ms(self) -> int:
        verdict = self.verdict()
        system_now = self.system.now_ms()
        if verdict.trusted:
            return system_now + verdict.offset_ms
        return max(system_now, self._floor_ms)

    def synced(self) -> bool:
        return self.verdict().trusted
