"""Proof of play: the amplifier output level of each sensor channel in hundredths of a dBFS.

Each ADC watches an amplifier output (through a divider biased at mid-rail). 0 dBFS is a full-scale square
wave (RMS 32768 counts around the mid-point); silence reads FLOOR_CDBFS. Takes its ADCs as arguments; must not
import machine.
"""

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from firmware.ports import AdcLike

FLOOR_CDBFS = -10000  # -100.00 dBFS: "no signal"
MIDPOINT = 32768
_FULL_SCALE_SQ = float(MIDPOINT * MIDPOINT)


def to_cdbfs(mean_square: float) -> int:
    """Mean square of (sample - MIDPOINT) to centi-dBFS, clamped to [FLOOR_CDBFS, 0]."""
    if mean_square <= 0:
        return FLOOR_CDBFS
    cdb = round(1000 * math.log10(mean_square / _FULL_SCALE_SQ))  # 10*log10 in dB, times 100
    return max(FLOOR_CDBFS, min(0, cdb))


class LevelMeter:
    """Samples every ADC once per main-loop step; publishes the RMS level of each completed window."""

    def __init__(self, adcs: "Sequence[AdcLike]", window: int = 64) -> None:
        self._adcs = list(adcs)
        self._window = window
        self._sums = [0.0] * len(self._adcs)
        self._count = 0
        self._levels = [FLOOR_CDBFS] * len(self._adcs)

    @property
    def count(self) -> int:
        return len(self._adcs)

    def sample(self) -> None:
        for i, adc in enumerate(self._adcs):
            delta = adc.read_u16() - MIDPOINT
            self._sums[i] += float(delta * delta)
        self._count += 1
        if self._count >= self._window:
            self._publish()

    def levels(self) -> "list[int]":
        return list(self._levels)

    def _publish(self) -> None:
        for i, total in enumerate(self._sums):
            self._levels[i] = to_cdbfs(total / self._count)
            self._sums[i] = 0.0
        self._count = 0
