"""Saturating 16-bit counters of rejected frames and fail-safe trips, read by the host with GET_STATS.

Imports nothing.
"""


class Counters:
    """A fixed row of counters that stop at 65535 instead of wrapping (a wrapped count would look healthy)."""

    def __init__(self, size: int) -> None:
        self._values = [0] * size

    def bump(self, index: int, amount: int = 1) -> None:
        self._values[index] = min(0xFFFF, self._values[index] + amount)

    def get(self, index: int) -> int:
        return self._values[index]

    def values(self) -> "tuple[int, ...]":
        return tuple(self._values)
