"""Wrap-safe millisecond tick arithmetic, like MicroPython's time.ticks_diff/ticks_add on the RP2040.

The firmware gets a ticks_ms function as an argument and never assumes ticks are monotonic integers: on the board
they wrap every 2**30 ms (12.4 days). Imports nothing.
"""

TICKS_PERIOD = 1 << 30
_MASK = TICKS_PERIOD - 1
_HALF = TICKS_PERIOD >> 1


def ticks_diff(end: int, start: int) -> int:
    """Signed end - start, correct across one wrap."""
    return ((end - start + _HALF) & _MASK) - _HALF


def ticks_add(ticks: int, delta: int) -> int:
    """ticks + delta, wrapped like the board's tick counter."""
    return (ticks + delta) & _MASK
