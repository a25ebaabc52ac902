"""Fail-safe timing: when the host heartbeat is missing, and when a relay has been on longer than its budget.

Pure decisions on ticks passed in; it never touches a pin. Must not import machine.
"""

from firmware.ticks import ticks_diff

MAX_HEARTBEAT_TIMEOUT_MS = 2900  # leaves 100 ms of loop latency inside the promised 3 s
MIN_HEARTBEAT_TIMEOUT_MS = 100


class Failsafe:
    def __init__(self, relay_count: int, heartbeat_timeout_ms: int, max_on_ms: int) -> None:
        if not MIN_HEARTBEAT_TIMEOUT_MS <= heartbeat_timeout_ms <= MAX_HEARTBEAT_TIMEOUT_MS:
            raise ValueError("heartbeat_timeout_ms out of range")
        if max_on_ms <= 0:
            raise ValueError("max_on_ms must be positive")
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.max_on_ms = max_on_ms
        self._beat_ms = -1  # -1: no live heartbeat (boot, or lost)
        self._on_since = [-1] * relay_count  # -1: relay off

    def beat(self, now_ms: int) -> None:
        self._beat_ms = now_ms

    def link_alive(self, now_ms: int) -> bool:
        return self._beat_ms >= 0 and ticks_diff(now_ms, self._beat_ms) < self.heartbeat_timeout_ms

    def link_lost(self, now_ms: int) -> bool:
        """True once, at the first check after the heartbeat went missing."""
        if self._beat_ms < 0 or self.link_alive(now_ms):
            return False
        self._beat_ms = -1
        return True

    def switched(self, mask: int, now_ms: int) -> None:
        """Start the on-time budget of relays that just came on; clear it for those now off."""
        for i in range(len(self._on_since)):
            if not (mask >> i) & 1:
                self._on_since[i] = -1
            elif self._on_since[i] < 0:
                self._on_since[i] = now_ms

    def renew(self, mask: int, now_ms: int) -> int:
        """Give each relay of mask that is on a fresh budget (emergency bulletins); returns those renewed."""
        renewed = 0
        for i in range(len(self._on_since)):
            if (mask >> i) & 1 and self._on_since[i] >= 0:
                self._on_since[i] = now_ms
                renewed |= 1 << i
        return renewed

    def overdue(self, now_ms: int) -> int:
        """Mask of relays on for max_on_ms or longer."""
        mask = 0
        for i, since in enumerate(self._on_since):
            if since >= 0 and ticks_diff(now_ms, since) >= self.max_on_ms:
                mask |= 1 << i
        return mask
