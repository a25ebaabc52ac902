"""The relay outputs: switch them by bitmask and read back the level the pins really have.

Takes its pins as arguments (machine.Pin on the board, fakes on a PC); must not import machine.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from firmware.ports import PinLike


class RelayBank:
    """Up to 8 relays, bit i = relay i. Everything is switched off the moment the bank is built."""

    def __init__(self, pins: "Sequence[PinLike]", active_low: bool = False) -> None:
        if not 0 < len(pins) <= 8:
            raise ValueError("1 to 8 relays")
        self._pins = list(pins)
        self._on_level = 0 if active_low else 1  # many opto relay boards close on a low input
        self._commanded = 0
        self.set_mask(0)

    @property
    def count(self) -> int:
        return len(self._pins)

    @property
    def all_bits(self) -> int:
        return (1 << len(self._pins)) - 1

    def commanded(self) -> int:
        return self._commanded

    def set_mask(self, mask: int) -> None:
        for i, pin in enumerate(self._pins):
            pin.value(self._on_level if (mask >> i) & 1 else 1 - self._on_level)
        self._commanded = mask & self.all_bits

    def readback(self) -> int:
        """The mask the pins actually show; differs from commanded() when a driver is stuck or shorted."""
        mask = 0
        for i, pin in enumerate(self._pins):
            if pin.value() == self._on_level:
                mask |= 1 << i
        return mask
